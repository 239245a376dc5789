//! The reference document (Khalaji, 2012), read through the real binary.

use crate::common::*;

fn run() -> (TempDir, polars::prelude::DataFrame, String, polars::prelude::DataFrame) {
    let dir = tempdir().unwrap();
    let (code, err) = analyze(&[&reference()], dir.path());
    assert_eq!(code, 0, "{err}");
    let docs = parquet(dir.path(), "documents");
    let text = strs(&parquet(dir.path(), "texts"), "text")[0].clone().unwrap();
    let sents = parquet(dir.path(), "sentences");
    (dir, docs, text, sents)
}

#[test]
fn metadata_is_read_from_the_scraped_page() {
    let (_d, docs, _, _) = run();
    assert_eq!(docs.height(), 1);
    let r = row(&docs, "doc_id", "000_52ef42a271004872");
    assert_eq!(
        r["title"].as_deref(),
        Some("The Ayatollah of Rejection May Be Contemplating Compromise")
    );
    assert_eq!(r["author"].as_deref(), Some("Mehdi Khalaji"));
    assert_eq!(r["date"].as_deref(), Some("2012-05-14"));
    assert_eq!(r["date_raw"].as_deref(), Some("May 14, 2012"));
    assert_eq!(
        r["publication"].as_deref(),
        Some("The Washington Institute for Near East Policy")
    );
    assert_eq!(r["original_publication"].as_deref(), Some("Daily Star"));
    assert_eq!(r["format"].as_deref(), Some("txt"));
}

#[test]
fn boilerplate_is_gone() {
    let (_d, _, text, _) = run();
    for gone in [
        "Bahrain",
        "Libya",
        "UAE",
        "RECOMMENDED",
        "TOPICS",
        "REGIONS",
        "/experts",
        "/policy-analysis",
        "(/",
        "http",
        "Libitzky",
        "Qom-trained",
        "senior fellow",
        "Articles & Testimony",
        "BRIEF ANALYSIS",
        "Daily Star",
        "❖",
        "**",
        "by Mehdi",
        "May 14, 2012",
        "Proliferation",
    ] {
        assert!(!text.contains(gone), "{gone:?} survived in the clean text");
    }
    assert!(text.starts_with("The Ayatollah of Rejection May Be Contemplating Compromise\n\nKhamenei's dilemma:"));
    assert!(text.ends_with("to compromise, he must save face; but, to save face, he must not compromise."));
}

#[test]
fn sentence_boundaries_are_exact() {
    let (_d, _, text, sents) = run();
    let texts: Vec<String> = strs(&sents, "text").into_iter().map(Option::unwrap).collect();
    let (starts, ends) = (ints(&sents, "start"), ints(&sents, "end"));
    // Every sentence's text is exactly its slice of the clean text.
    for i in 0..texts.len() {
        assert_eq!(chars(&text, starts[i], ends[i]), texts[i]);
    }
    let expect = [
        "The recent nuclear talks in Istanbul between the five permanent members of the United Nations Security Council, plus Germany and Iran have shifted the world's focus to the possible terms of a deal when the sides meet again, probably in Baghdad on May 23.",
        "So, what accounts for the new seeming willingness of Iran's leaders to reach an agreement?",
        "Iran, it must be remembered, cares as much about its image as it does about its nuclear achievements.",
        "As the talks move ahead, the United States and its allies must stick to a dual-track policy: On the one hand they must intensify the political pressure and economic sanctions on Iran, while, on the other, they must negotiate seriously.",
        "Khamenei is not a suicidal jihadist.",
        "Given this situation, a guarantee that the West, especially the U.S., is not seeking the overthrow of Iran's leaders would have to be a key component of a nuclear compromise.",
        "The nuclear crisis should be resolved through negotiations before the window closes, to borrow from U.S. President Barack Obama's phrase.",
        "The problem for Khamenei – and thus for those who are negotiating with Iran – is that there is scant benefit for the supreme leader in success.",
    ];
    for e in expect {
        assert!(texts.iter().any(|t| t == e), "missing sentence: {e}\n got: {texts:#?}");
    }
    assert_eq!(texts[0], "The Ayatollah of Rejection May Be Contemplating Compromise");
    assert_eq!(texts.last().unwrap(), "The biggest obstacle to a successful outcome is the contradiction of his situation: to compromise, he must save face; but, to save face, he must not compromise.");
    assert_eq!(texts.len(), 38, "{texts:#?}");
}

#[test]
fn csv_opens_in_spreadsheets() {
    let (d, _, _, _) = run();
    let bytes = std::fs::read(d.path().join("sentences.csv")).unwrap();
    assert!(
        bytes.starts_with(b"\xef\xbb\xbfdoc_id,sent_id,start,end,text\n"),
        "BOM and header"
    );
    let s = String::from_utf8(bytes).unwrap();
    // A sentence with commas and an apostrophe is quoted per RFC 4180.
    assert!(
        s.contains(",\"So, what accounts for the new seeming willingness of Iran's leaders to reach an agreement?\"")
    );
    assert!(!d.path().join("texts.csv").exists(), "texts are CSV only on request");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["rhetor_version"], env!("CARGO_PKG_VERSION"));
    let sha = manifest["inputs"][0]["sha256"].as_str().unwrap();
    let expected = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(reference()).unwrap()))
    };
    assert_eq!(sha, expected);
}

/// int8 (the default) against fp32 on the reference document: the same entities and
/// recommendations, and the stances the reference is known for; the manifest says which ran.
#[test]
fn the_reference_document_reads_the_same_in_int8_and_fp32() {
    let dir = tempdir().unwrap();
    let (int8, fp32) = (dir.path().join("int8"), dir.path().join("fp32"));
    let (code, err) = analyze_full(&[&reference()], &int8);
    assert_eq!(code, 0, "{err}");
    let (code, err) = analyze_full(&[&reference(), "--precision", "fp32"], &fp32);
    assert_eq!(code, 0, "{err}");
    for (table, cols) in [
        ("mentions", &["start", "end", "label", "entity_id"][..]),
        (
            "recommendations",
            &["start", "end", "actor", "action", "instrument"][..],
        ),
    ] {
        let (a, b) = (parquet(&int8, table), parquet(&fp32, table));
        assert_eq!(a.height(), b.height(), "{table}");
        for c in cols {
            let (x, y) = (a.column(c).unwrap(), b.column(c).unwrap());
            assert!(x.equals_missing(y), "{table}.{c} differs");
        }
    }
    let (a, b) = (parquet(&int8, "stances"), parquet(&fp32, "stances"));
    for (target, stance) in [
        ("sanctions", "favor"),
        ("negotiations", "favor"),
        ("entity:Q57336", "against"),
    ] {
        assert_eq!(
            row(&a, "target", target)["stance"].as_deref(),
            Some(stance),
            "int8 {target}"
        );
        assert_eq!(
            row(&b, "target", target)["stance"].as_deref(),
            Some(stance),
            "fp32 {target}"
        );
    }
    // Scores move in the second decimal at most (a stance near a class boundary may change class).
    let scores = |d: &polars::prelude::DataFrame| -> Vec<f64> {
        d.column("score").unwrap().f64().unwrap().into_no_null_iter().collect()
    };
    for (x, y) in scores(&a).iter().zip(scores(&b)) {
        assert!((x - y).abs() < 0.05, "{x} vs {y}");
    }
    let manifest = |d: &std::path::Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap()
    };
    assert_eq!(manifest(&int8)["configuration"]["precision"], "int8");
    assert_eq!(manifest(&fp32)["configuration"]["precision"], "fp32");
}
