//! Web pages, compressed inputs and crawl archives: real pages from the extraction development set
//! (`tests/fixtures/web/pages`, with their trafilatura annotations in `expectations.jsonl`), a
//! WARC written by warcio (`make_fixtures.py`), gzip files, and each kind of bad input.

use crate::common::*;
use std::collections::BTreeMap;

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn expectations() -> Vec<serde_json::Value> {
    std::fs::read_to_string(fixture("web/expectations.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// doc_id -> clean text of an analyze run.
fn texts(out: &std::path::Path) -> BTreeMap<String, String> {
    let t = parquet(out, "texts");
    strs(&t, "doc_id")
        .into_iter()
        .zip(strs(&t, "text"))
        .map(|(d, x)| (d.unwrap(), x.unwrap()))
        .collect()
}

#[test]
fn real_pages_keep_the_article_and_drop_the_boilerplate() {
    let dir = tempdir().unwrap();
    let (code, err) = analyze(&[&fixture("web/pages")], dir.path());
    assert_eq!(code, 0, "{err}");
    let texts = texts(dir.path());
    let docs = parquet(dir.path(), "documents");
    for e in expectations() {
        let id = e["file"].as_str().unwrap().trim_end_matches(".html");
        let text = squash(&texts[id]);
        for s in e["with"].as_array().unwrap() {
            let s = squash(s.as_str().unwrap());
            assert!(text.contains(&s), "{id}: article text {s:?} is missing");
        }
        for s in e["without"].as_array().unwrap() {
            let s = squash(s.as_str().unwrap());
            assert!(!text.contains(&s), "{id}: boilerplate {s:?} was kept");
        }
        let row = row(&docs, "doc_id", id);
        if let Some(title) = e["title"].as_str() {
            assert_eq!(row["title"].as_deref(), Some(title), "{id}: title");
        }
    }
    // Dates as the pages' JSON-LD and meta tags give them (the annotation of diem25.org says
    // 2020-12-12, but its JSON-LD, article:published_time and <time> all say 2020-10-12).
    for (id, date) in [
        ("aclu.org-grades", "2019-07-25"),
        ("harpers.org.justice", "2020-07-07"),
        ("politico.com.retirement", "2019-12-30"),
        ("diem25.org.climate", "2020-10-12"),
    ] {
        assert_eq!(row(&docs, "doc_id", id)["date"].as_deref(), Some(date), "{id}: date");
    }
    // JSON-LD authors of a page with two (aclu.org), OpenGraph site names as publication.
    let aclu = row(&docs, "doc_id", "aclu.org-grades");
    assert_eq!(aclu["author"].as_deref(), Some("Sarah Hinger; Sylvia Torres-Guillén"));
    assert_eq!(aclu["publication"].as_deref(), Some("American Civil Liberties Union"));
    assert_eq!(
        row(&docs, "doc_id", "politico.com.retirement")["author"].as_deref(),
        Some("Ally Mutnick")
    );
}

#[test]
fn eval_extraction_scores_both_layouts() {
    // The snippets layout: the fixture folder is one (pages/ + expectations.jsonl).
    let o = rhetor(&["eval", "extraction", &fixture("web"), "--repeat", "1", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let j: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(j["layout"], "snippets");
    assert_eq!(j["pages"], 5);
    assert_eq!(j["counts"][2], 0, "no article snippet missed: {stdout}");
    assert!(j["f1"].as_f64().unwrap() >= 0.95, "{stdout}");
    // The benchmark layout, with a page whose gold text is known exactly.
    let dir = tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("html")).unwrap();
    let body = "The negotiators met again in Vienna on Tuesday, and both delegations said the talks had made progress on the sequencing of sanctions relief.";
    let page = format!(
        "<html><body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav><article><p>{body}</p>\
         <p>Officials on both sides, speaking on condition of anonymity, said a deal could come within weeks, though neither would say what remained open.</p></article>\
         <footer>Copyright 2024 The Paper</footer></body></html>"
    );
    std::fs::write(dir.path().join("html/p1.html"), page).unwrap();
    let gold = format!("{body}\n\nOfficials on both sides, speaking on condition of anonymity, said a deal could come within weeks, though neither would say what remained open.");
    std::fs::write(
        dir.path().join("ground-truth.json"),
        serde_json::json!({"p1": {"articleBody": gold}}).to_string(),
    )
    .unwrap();
    for ngram in ["4", "1"] {
        let o = rhetor(&[
            "eval",
            "extraction",
            &dir.path().display().to_string(),
            "--ngram",
            ngram,
            "--repeat",
            "1",
            "--json",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stdout = String::from_utf8_lossy(&o.stdout);
        let j: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        assert_eq!(j["layout"], "benchmark");
        assert!((j["f1"].as_f64().unwrap() - 1.0).abs() < 1e-9, "{stdout}");
    }
    // A folder of neither layout is a clear error.
    let o = rhetor(&["eval", "extraction", &fixture("web/pages")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("neither a snippets folder"));
}

/// The second development set (35 pages from sites not in trafilatura's set, `data/extraction/
/// other-sites`, built by `tools/readability_devset.py`), with regression checks for what it found.
#[test]
fn pages_from_other_sites_keep_their_article_and_bylines() {
    let set = repo().join("data/extraction/other-sites").display().to_string();
    let o = rhetor(&["eval", "extraction", &set, "--repeat", "1", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let j: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(j["layout"], "benchmark");
    assert_eq!(j["pages"], 35);
    assert!(j["f1"].as_f64().unwrap() >= 0.96, "{stdout}");
    let page = |id: &str| {
        j["per_page"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap()
            .clone()
    };
    // The rest of the Herald Sun story sits in <div id="read-more">: a "read more" name does not
    // drop a container holding most of the page's prose.
    assert!(
        page("herald-sun-1")["recall"].as_f64().unwrap() > 0.9,
        "{}",
        page("herald-sun-1")
    );
    // Bylines: the name without the date after it, not a columnist in the site's menu, a licence
    // link is not an author, capitals folded.
    let author = |id: &str| page(id)["metadata"][1].as_str().map(str::to_string);
    assert_eq!(author("ars-1").as_deref(), Some("Dan Goodin"));
    assert_eq!(author("breitbart").as_deref(), Some("Lucas Nolan"));
    assert_eq!(author("yahoo-1").as_deref(), Some("Ben Silverman"));
    assert_eq!(author("yahoo-3").as_deref(), Some("Gillian Mohney"));
    assert_eq!(author("ebb-org").as_deref(), Some("Bradley M. Kuhn"));
    assert_eq!(author("v8-blog"), None);
    assert!(
        j["metadata"]["author"][0].as_f64().unwrap() >= 0.95,
        "{}",
        j["metadata"]
    );
}

#[test]
fn a_warc_archive_gives_one_document_per_html_response() {
    let dir = tempdir().unwrap();
    let (code, err) = analyze(&[&fixture("web/crawl.warc.gz")], dir.path());
    assert_eq!(code, 0, "{err}");
    let docs = parquet(dir.path(), "documents");
    assert_eq!(
        docs.height(),
        4,
        "three pages and the Windows-1252 page; no request, image, redirect or metadata record"
    );
    assert!(strs(&docs, "format").iter().all(|f| f.as_deref() == Some("warc")));
    let urls: Vec<String> = strs(&docs, "url").into_iter().map(Option::unwrap).collect();
    assert!(urls.iter().any(|u| u.starts_with("https://harpers.org/")), "{urls:?}");
    let cafe = row(&docs, "url", "https://example.org/cafe");
    assert_eq!(cafe["crawl_date"].as_deref(), Some("2021-03-09T09:00:00Z"));
    assert_eq!(
        cafe["encoding"].as_deref(),
        Some("windows-1252"),
        "the charset came from the HTTP header"
    );
    assert_eq!(
        cafe["title"].as_deref(),
        Some("Café diplomacy in Vienna"),
        "the <h1> comes before <title>"
    );
    let id = cafe["doc_id"].clone().unwrap();
    let record_id = cafe["warc_record_id"].clone().unwrap();
    assert_eq!(
        format!("urn:uuid:{id}"),
        record_id,
        "the doc_id comes from the record id"
    );
    let texts = texts(dir.path());
    assert!(texts[&id].contains("“constructive”"), "{}", texts[&id]);
    // The manifest counts the records that are not documents.
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["inputs"][0]["documents"], 4);
    assert_eq!(m["inputs"][0]["skipped_records"], 7);
    // A page read from the archive has the same text as the page read from its file.
    let direct = tempdir().unwrap();
    let (code, err) = analyze(&[&fixture("web/pages/harpers.org.justice.html")], direct.path());
    assert_eq!(code, 0, "{err}");
    let harpers = row(&docs, "title", "A Letter on Justice and Open Debate")["doc_id"]
        .clone()
        .unwrap();
    assert_eq!(texts[&harpers], self::texts(direct.path())["harpers.org.justice"]);
    // Ids are stable: a second run gives the same documents table.
    let again = tempdir().unwrap();
    analyze(&[&fixture("web/crawl.warc.gz")], again.path());
    assert_eq!(
        std::fs::read(dir.path().join("documents.csv")).unwrap(),
        std::fs::read(again.path().join("documents.csv")).unwrap()
    );
}

#[test]
fn gzip_inputs_read_as_their_format() {
    let dir = tempdir().unwrap();
    let (code, err) = analyze(
        &[&fixture("web/article.html.gz"), &fixture("web/dump.jsonl.gz")],
        dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    let docs = parquet(dir.path(), "documents");
    let ids: Vec<String> = strs(&docs, "doc_id").into_iter().map(Option::unwrap).collect();
    assert_eq!(ids, vec!["article", "op-0", "op-1", "op-2"]);
    assert_eq!(row(&docs, "doc_id", "op-1")["date"].as_deref(), Some("2019-02-01"));
    let texts = texts(dir.path());
    assert!(texts["article"].contains("It is believed that the woman is of unsound mind."));
    let plain = tempdir().unwrap();
    analyze(&[&fixture("web/pages/jamaicaobserver.com-attacks.html")], plain.path());
    assert_eq!(
        texts["article"],
        self::texts(plain.path())["jamaicaobserver.com-attacks"]
    );
}

#[test]
fn broken_archives_and_streams_cost_only_what_is_broken() {
    let errors_of = |out: &std::path::Path| -> Vec<String> {
        csv_rows(&out.join("errors.csv"))
            .into_iter()
            .map(|r| format!("{} {}", r["stage"], r["message"]))
            .collect()
    };
    // A record with a broken header: that record goes, the others stay.
    let dir = tempdir().unwrap();
    let (code, _) = analyze(&[&fixture("web/broken.warc")], dir.path());
    assert_eq!(code, 3);
    assert_eq!(parquet(dir.path(), "documents").height(), 3);
    let errors = errors_of(dir.path());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("record 5") && errors[0].contains("without a colon"),
        "{errors:?}"
    );
    // A truncated archive keeps the records before the break.
    let dir = tempdir().unwrap();
    let (code, _) = analyze(&[&fixture("web/truncated.warc.gz")], dir.path());
    assert_eq!(code, 3);
    assert_eq!(parquet(dir.path(), "documents").height(), 2);
    let errors = errors_of(dir.path());
    assert!(
        errors.iter().any(|e| e.contains("cannot be read past this point")),
        "{errors:?}"
    );
    // A truncated gzip JSONL keeps the whole records and reports the cut one.
    let dir = tempdir().unwrap();
    let (code, _) = analyze(&[&fixture("web/truncated.jsonl.gz")], dir.path());
    assert_eq!(code, 3);
    assert_eq!(
        strs(&parquet(dir.path(), "documents"), "doc_id"),
        vec![Some("op-0".to_string())]
    );
    let errors = errors_of(dir.path());
    assert!(
        errors.iter().any(|e| e.starts_with("decode the gzip stream breaks")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("cut short")), "{errors:?}");
    // A decompression bomb is an error row under a documented limit, not an exhausted machine.
    let dir = tempdir().unwrap();
    let (code, _) = analyze(
        &[
            &fixture("web/bomb.html.gz"),
            "--max-input-mb",
            "1",
            &fixture("web/article.html.gz"),
        ],
        dir.path(),
    );
    assert_eq!(code, 3);
    assert_eq!(
        parquet(dir.path(), "documents").height(),
        1,
        "the other input is still read"
    );
    let errors = errors_of(dir.path());
    assert!(
        errors.iter().any(|e| e.contains("expands past the limit of 1 MB")),
        "{errors:?}"
    );
}
