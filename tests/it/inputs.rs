//! Every input format, encoding and metadata source, through the real binary.

use crate::common::*;

#[test]
fn each_format_is_read_with_its_metadata() {
    let dir = tempdir().unwrap();
    let (code, err) = analyze(&[&fixture("formats")], dir.path());
    assert_eq!(code, 0, "{err}");
    let docs = parquet(dir.path(), "documents");
    let texts = parquet(dir.path(), "texts");
    let text_of = |id: &str| row(&texts, "doc_id", id)["text"].clone().unwrap();

    let md = row(&docs, "doc_id", "2013-11-24_geneva-interim");
    assert_eq!(md["format"].as_deref(), Some("markdown"));
    assert_eq!(md["title"].as_deref(), Some("Interim Deal Reached in Geneva"));
    assert_eq!(md["author"].as_deref(), Some("Jane Doe; John Roe"));
    assert_eq!(md["date"].as_deref(), Some("2013-11-24"));
    assert_eq!(md["publication"].as_deref(), Some("Example Review"));
    assert_eq!(md["url"].as_deref(), Some("https://example.org/geneva"));
    assert_eq!(
        md["topic"].as_deref(),
        Some("nuclear diplomacy"),
        "extra front-matter keys become columns"
    );
    let t = text_of("2013-11-24_geneva-interim");
    assert!(t.contains("Iran caps enrichment at 5 percent."));
    assert!(
        !t.contains("senior fellow"),
        "the bio of a front-matter author is dropped: {t}"
    );

    let html = row(&docs, "doc_id", "vienna");
    assert_eq!(html["format"].as_deref(), Some("html"));
    assert_eq!(html["title"].as_deref(), Some("The Vienna Deal and Its Critics"));
    assert_eq!(html["author"].as_deref(), Some("Ali Vaez"));
    assert_eq!(html["date"].as_deref(), Some("2015-07-14"));
    assert_eq!(html["date_raw"].as_deref(), Some("2015-07-14T09:00:00Z"));
    assert_eq!(html["publication"].as_deref(), Some("Example Site"));
    assert_eq!(html["url"].as_deref(), Some("https://example.org/vienna"));
    let t = text_of("vienna");
    assert_eq!(
        t,
        "The Vienna Deal and Its Critics\n\nNegotiators in Vienna concluded the Joint Comprehensive Plan of Action on Tuesday. Critics in Congress said the U.S. gave away too much.\n\nSupporters argued that the deal blocks every path to a bomb. Read the text of the agreement."
    );

    let j = row(&docs, "doc_id", "sp-2");
    assert_eq!(
        (j["format"].as_deref(), j["author"].as_deref(), j["date"].as_deref()),
        (Some("jsonl"), Some("Donald J. Trump"), Some("2018-05-08"))
    );
    assert_eq!(row(&docs, "doc_id", "sp-1")["venue"].as_deref(), Some("United Nations"));

    let c = row(&docs, "doc_id", "oped-2");
    assert_eq!(
        (c["format"].as_deref(), c["author"].as_deref(), c["date"].as_deref()),
        (Some("csv"), Some("Trita Parsi"), Some("2012-04"))
    );
    assert_eq!(
        text_of("oped-2"),
        "Washington should talk to Tehran. \"Engagement\" is not appeasement."
    );

    let p = row(&docs, "doc_id", "plain");
    assert_eq!(
        (p["n_sentences"].as_deref(), p["n_words"].as_deref()),
        (Some("3"), Some("25"))
    );

    for (id, enc) in [
        ("cp1252", "windows-1252"),
        ("utf16", "UTF-16LE"),
        ("utf8bom", "UTF-8 (BOM)"),
    ] {
        assert_eq!(row(&docs, "doc_id", id)["encoding"].as_deref(), Some(enc));
        assert_eq!(
            text_of(id),
            "Mohammad Javad Zarif – Iran’s foreign minister – met John Kerry in Genève. “We are close,” he said. The café was closed."
        );
    }
}

#[test]
fn metadata_precedence() {
    let dir = tempdir().unwrap();
    let (code, err) = analyze(
        &[
            &fixture("precedence"),
            "--metadata",
            &fixture("precedence-metadata.csv"),
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    let docs = parquet(dir.path(), "documents");
    assert_eq!(docs.height(), 2, "the sidecar is metadata, never a document");
    let v = row(&docs, "doc_id", "2015-07-14_jane-doe_vienna");
    assert_eq!(
        v["title"].as_deref(),
        Some("Table Title"),
        "--metadata beats the sidecar"
    );
    assert_eq!(v["publication"].as_deref(), Some("Table Publication"));
    assert_eq!(
        v["author"].as_deref(),
        Some("Sidecar Author"),
        "the sidecar beats front matter"
    );
    assert_eq!(
        v["date"].as_deref(),
        Some("2015-07-15"),
        "front matter beats the file name"
    );
    assert_eq!(v["desk"].as_deref(), Some("Middle East"), "other sidecar keys are kept");
    let f = row(&docs, "doc_id", "2016-01-16_john-q-public_implementation");
    assert_eq!(
        f["author"].as_deref(),
        Some("John Q Public"),
        "the file name is the last resort"
    );
    assert_eq!(f["date"].as_deref(), Some("2016-01-16"));
}

/// Sign-off prompts of op-ed sites found in the commentary pool (The Washington Times, CNN
/// Opinion) are site furniture, not the author's text; the article before them stays.
#[test]
fn newsletter_and_social_prompts_at_the_end_of_op_eds_are_dropped() {
    let dir = tempdir().unwrap();
    let path = dir.path().join("2013-01-10_jane-roe_oped.txt");
    std::fs::write(
        &path,
        "Sanctions will not bring Tehran to the table. Only talks can.\n\n\
         Jane Roe is a columnist.\n\n\
         Sign up for Daily Opinion Newsletter Manage Newsletters\n\n\
         Follow us on Twitter @CNNOpinion.\n\n\
         Join us on Facebook.com/CNNOpinion.\n\n\
         Read CNNOpinion's new Flipboard magazine.\n",
    )
    .unwrap();
    let (code, err) = analyze(&[&path.display().to_string()], dir.path());
    assert_eq!(code, 0, "{err}");
    let texts = strs(&parquet(dir.path(), "texts"), "text");
    let text = texts[0].as_deref().unwrap();
    assert!(
        text.starts_with("Sanctions will not bring Tehran to the table. Only talks can."),
        "{text}"
    );
    for prompt in ["Newsletter", "Twitter", "Facebook", "Flipboard"] {
        assert!(!text.contains(prompt), "{prompt:?} kept in {text:?}");
    }
}
