//! Bad input is reported by file and reason, and the batch goes on.

use crate::common::*;

#[test]
fn each_kind_of_bad_input_is_an_error_row_and_the_rest_is_kept() {
    let dir = tempdir().unwrap();
    let (code, err) = analyze(&[&fixture("bad"), &reference()], dir.path());
    assert_eq!(code, 3, "exit 3 when some inputs failed: {err}");
    let errors = parquet(dir.path(), "errors");
    let rows: Vec<(String, String, String)> = (0..errors.height())
        .map(|i| {
            let get = |c: &str| strs(&errors, c)[i].clone().unwrap();
            (get("path"), get("stage"), get("message"))
        })
        .collect();
    let has = |file: &str, stage: &str, needle: &str| {
        assert!(
            rows.iter()
                .any(|(p, s, m)| p.ends_with(file) && s == stage && m.contains(needle)),
            "no {stage} error for {file} containing {needle:?}; errors: {rows:#?}"
        )
    };
    has("empty.txt", "decode", "the file is empty");
    has("image.txt", "decode", "binary file, not text (a PNG image)");
    has(
        "undecodable.txt",
        "decode",
        "could not be decoded: it is not UTF-8 and windows-1252 decoding produced invalid characters",
    );
    has("report.pdf", "discover", "unsupported file type");
    has("partly.jsonl", "parse", "line 2: invalid JSON");
    has("partly.jsonl", "parse", "line 3: expected a JSON object");
    has("partly.jsonl", "parse", "line 4: no \"text\" field");
    has(
        "ragged.csv",
        "parse",
        "record 2 (line 3): has 4 fields where the header has 3",
    );
    has(
        "notext.csv",
        "parse",
        "needs a \"text\" column (its columns are: id, body)",
    );
    has("nav-only.html", "clean", "no article text");
    has("front-matter.md", "metadata", "front matter is malformed");
    assert_eq!(rows.len(), 11, "{rows:#?}");

    // Everything valid is kept: both good JSONL lines, both good CSV rows, the document with broken
    // front matter, and the reference document.
    let docs = parquet(dir.path(), "documents");
    let mut ids: Vec<String> = strs(&docs, "doc_id").into_iter().map(Option::unwrap).collect();
    ids.sort();
    assert_eq!(
        ids,
        vec!["000_52ef42a271004872", "front-matter", "ok-1", "ok-2", "r1", "r3"]
    );
    // Tables are still written in full for what was read.
    let texts = parquet(dir.path(), "texts");
    assert_eq!(
        row(&texts, "doc_id", "r3")["text"].as_deref(),
        Some("Another valid row about Russia.")
    );
}

#[test]
fn a_five_megabyte_document_is_analysed_whole() {
    let dir = tempdir().unwrap();
    let para = "Khamenei said the talks in Geneva would fail. The U.S. disagreed, and Mr. Kerry flew to Vienna on Jan. 5 for 3.5 days.\n\n";
    let n = 5_000_000 / para.len() + 1;
    let path = dir.path().join("long.txt");
    std::fs::write(&path, para.repeat(n)).unwrap();
    let out = dir.path().join("out");
    let (code, err) = analyze(&[&path.display().to_string()], &out);
    assert_eq!(code, 0, "{err}");
    let docs = parquet(&out, "documents");
    let r = row(&docs, "doc_id", "long");
    // 23 words and 2 sentences per paragraph, counted by hand.
    assert_eq!(r["n_words"].as_deref(), Some((23 * n).to_string().as_str()));
    assert_eq!(r["n_sentences"].as_deref(), Some((2 * n).to_string().as_str()));
    let sents = parquet(&out, "sentences");
    let texts = strs(&sents, "text");
    assert_eq!(
        texts.last().unwrap().as_deref(),
        Some("The U.S. disagreed, and Mr. Kerry flew to Vienna on Jan. 5 for 3.5 days.")
    );
    assert_eq!(*ints(&sents, "end").last().unwrap() as usize, para.len() * n - 2);

    // Past --max-document-chars the document is an error row naming the limit, nothing is cut,
    // and the other documents of the run are analysed.
    let short = dir.path().join("short.txt");
    std::fs::write(&short, para).unwrap();
    let limited = dir.path().join("limited");
    let (code, err) = analyze(
        &[
            &path.display().to_string(),
            &short.display().to_string(),
            "--max-document-chars",
            "1000000",
        ],
        &limited,
    );
    assert_eq!(code, 3, "exit 3 when some inputs failed: {err}");
    let docs = parquet(&limited, "documents");
    assert_eq!(strs(&docs, "doc_id"), vec![Some("short".to_string())]);
    let errors = parquet(&limited, "errors");
    assert_eq!(strs(&errors, "stage"), vec![Some("limit".to_string())]);
    let message = strs(&errors, "message")[0].clone().unwrap();
    assert!(
        message.contains(&format!(
            "{} characters, more than the limit of 1000000",
            para.len() * n - 2
        )) && message.contains("--max-document-chars"),
        "{message}"
    );
}

/// Past --max-line-chars a text file is an error row, and so is a JSONL line or a CSV record,
/// while the file's other records are read.
#[test]
fn lines_past_the_limit_are_error_rows_and_the_other_records_stay() {
    let dir = tempdir().unwrap();
    let long = "Sanctions work. ".repeat(100); // 1,600 characters on one line
    let short = "Negotiations resumed in Geneva on Sunday after a break of three weeks.";
    std::fs::write(dir.path().join("long.txt"), format!("{short}\n\n{long}\n")).unwrap();
    std::fs::write(
        dir.path().join("records.jsonl"),
        format!(
            "{}\n{}\n",
            serde_json::json!({"id": "fine", "text": short}),
            serde_json::json!({"id": "huge", "text": long})
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("rows.csv"),
        format!("id,text\nrow1,{short}\nrow2,{long}\n"),
    )
    .unwrap();
    let out = dir.path().join("out");
    let (code, err) = analyze(&[&dir.path().display().to_string(), "--max-line-chars", "1000"], &out);
    assert_eq!(code, 3, "exit 3 when some inputs failed: {err}");
    let docs = parquet(&out, "documents");
    assert_eq!(
        strs(&docs, "doc_id"),
        vec![Some("fine".to_string()), Some("row1".to_string())]
    );
    let errors = parquet(&out, "errors");
    assert_eq!(strs(&errors, "stage"), vec![Some("limit".to_string()); 3]);
    let messages: Vec<String> = strs(&errors, "message").into_iter().flatten().collect();
    assert!(
        messages.iter().any(|m| m.starts_with(
            "line 3 has 1600 characters, more than the limit of 1000 (--max-line-chars); the file was not analysed"
        )),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("line 2 has") && m.ends_with("the record was not read")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("record 2 has") && m.ends_with("the record was not read")),
        "{messages:?}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let o = rhetor(&["analyze"]);
    assert_eq!(o.status.code(), Some(2));
    let o = rhetor(&["analyze", REFERENCE, "--format", "xlsx"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("xlsx"));
    let o = rhetor(&["analyze", REFERENCE, "--metadata", "no/such/file.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no/such/file.csv"));
    // A rules file with an invalid regular expression, and a missing cue file: both name the file.
    let dir = tempdir().unwrap();
    let rules = dir.path().join("site.toml");
    std::fs::write(&rules, "[bio]\npatterns = [\"(unclosed\"]\n").unwrap();
    let rules = rules.display().to_string();
    let o = rhetor(&["analyze", REFERENCE, "--no-entities", "--rules", &rules]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("site.toml"));
    let o = rhetor(&["analyze", REFERENCE, "--no-entities", "--cues", "no/such/cues.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no/such/cues.toml"));
}

#[test]
fn a_missing_input_is_an_error_row() {
    let dir = tempdir().unwrap();
    let (code, _) = analyze(&["no/such/folder", &reference()], dir.path());
    assert_eq!(code, 3);
    let errors = parquet(dir.path(), "errors");
    assert_eq!(
        strs(&errors, "message"),
        vec![Some("no such file or directory".to_string())]
    );
    assert_eq!(parquet(dir.path(), "documents").height(), 1);
}
