//! `compare`, `kwic` and `report` through the real binary, on analyze runs of real files.

use crate::common::*;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The sample corpus analysed without entities (fast), shared by the tests of this file.
fn sample_run() -> &'static PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rhetor-compare-sample-{}", std::process::id()));
        let (code, err) = analyze(&["data/corpus"], &dir);
        assert_eq!(code, 0, "{err}");
        dir
    })
}

/// The reference document, three State of the Union addresses and an anonymous note, with the
/// whole pipeline, shared by the tests of this file.
fn full_run() -> &'static PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rhetor-compare-full-{}", std::process::id()));
        let inputs = dir.join("in");
        std::fs::create_dir_all(&inputs).unwrap();
        for f in [
            "2006-01-31_george-w-bush_state-of-the-union",
            "2007-01-23_george-w-bush_state-of-the-union",
            "2012-01-24_barack-obama_state-of-the-union",
        ] {
            for ext in ["txt", "meta.json"] {
                std::fs::copy(
                    repo().join(format!("data/corpus/sotu/{f}.{ext}")),
                    inputs.join(format!("{f}.{ext}")),
                )
                .unwrap();
            }
        }
        std::fs::copy(repo().join(REFERENCE), inputs.join("000_52ef42a271004872.txt")).unwrap();
        std::fs::copy(
            repo().join("tests/fixtures/compare/anonymous-note.txt"),
            inputs.join("anonymous-note.txt"),
        )
        .unwrap();
        let out = dir.join("out");
        let (code, err) = analyze_full(&[&inputs.display().to_string()], &out);
        assert_eq!(code, 0, "{err}");
        out
    })
}

#[test]
fn compare_by_author_and_year_on_the_sample_corpus() {
    let out = tempdir().unwrap();
    let o = rhetor(&[
        "compare",
        &sample_run().display().to_string(),
        "--by",
        "author",
        "--period",
        "year",
        "--out",
        &out.path().display().to_string(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = csv_rows(&out.path().join("corpus_long.csv"));
    let docs_of = |author: &str| -> usize {
        rows.iter()
            .filter(|r| r["group"] == author)
            .map(|r| r["documents"].parse::<usize>().unwrap())
            .sum()
    };
    assert_eq!(docs_of("George W. Bush"), 7);
    assert_eq!(docs_of("Barack Obama"), 7);
    assert_eq!(docs_of("Donald J. Trump"), 4);
    assert_eq!(docs_of("Joseph R. Biden Jr."), 1);
    assert_eq!(docs_of("Mehdi Khalaji"), 1);
    assert_eq!(rows.len(), 20, "one document per author and year");
    let khalaji = rows.iter().find(|r| r["group"] == "Mehdi Khalaji").unwrap();
    assert_eq!(khalaji["period"], "2012");
    // Words per group equal the documents table's own counts.
    let docs = parquet(sample_run(), "documents");
    let authors = strs(&docs, "author");
    let words = ints(&docs, "n_words");
    let bush_words: i64 = authors
        .iter()
        .zip(&words)
        .filter(|(a, _)| a.as_deref() == Some("George W. Bush"))
        .map(|(_, w)| w)
        .sum();
    let bush_rows: i64 = rows
        .iter()
        .filter(|r| r["group"] == "George W. Bush")
        .map(|r| r["words"].parse::<i64>().unwrap())
        .sum();
    assert_eq!(bush_rows, bush_words);
    // The wide pivot has one column per group and period.
    let wide = csv_rows(&out.path().join("corpus_wide.csv"));
    assert_eq!(wide.len(), 1);
    assert_eq!(wide[0]["Mehdi Khalaji | 2012"], "1.0");
    assert!(out.path().join("corpus_long.parquet").is_file());

    // A date filter keeps 2010 onwards only.
    let o = rhetor(&[
        "compare",
        &sample_run().display().to_string(),
        "--filter",
        "date>=2010",
        "--period",
        "none",
        "--out",
        &out.path().display().to_string(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = csv_rows(&out.path().join("corpus_long.csv"));
    assert!(rows
        .iter()
        .all(|r| r["group"] != "George W. Bush" && r["period"] == "all"));
    assert_eq!(
        rows.iter().find(|r| r["group"] == "Barack Obama").unwrap()["documents"],
        "7"
    );

    // An unknown column is a clear error listing the columns there are.
    let o = rhetor(&["compare", &sample_run().display().to_string(), "--by", "colour"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("\"colour\"") && err.contains("author"), "{err}");
}

#[test]
fn unknown_groups_and_keyness_by_hand() {
    let dir = tempdir().unwrap();
    let run = dir.path().join("run");
    let (code, err) = analyze(&[&fixture("compare")], &run);
    assert_eq!(code, 0, "{err}");
    let out = dir.path().join("cmp");
    let o = rhetor(&[
        "compare",
        &run.display().to_string(),
        "--min-count",
        "2",
        "--out",
        &out.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let corpus = csv_rows(&out.join("corpus_long.csv"));
    let unknown = corpus
        .iter()
        .find(|r| r["group"] == "(unknown)")
        .expect("(unknown) group");
    assert_eq!(unknown["period"], "(unknown)");
    assert_eq!(unknown["documents"], "1");

    // G2 by hand: Alice uses "sanctions" 2 times in her 6 words; the rest of the corpus (Bob's 8
    // words and the note's 11) uses it once: a=2, b=1, n_t=6, n_r=19, c=4, d=18, n=25;
    // E_a=6*3/25=0.72, E_b=19*3/25=2.28, E_c=6*22/25=5.28, E_d=19*22/25=16.72;
    // G2 = 2(2 ln(2/0.72) + 1 ln(1/2.28) + 4 ln(4/5.28) + 18 ln(18/16.72)) = 2.8728;
    // log ratio = log2((2/6)/(1/19)) = 2.6630.
    let key = csv_rows(&out.join("keyness.csv"));
    let alice = key
        .iter()
        .find(|r| r["group"] == "Alice" && r["key"] == "sanctions")
        .expect("sanctions is key for Alice");
    assert_eq!(alice["count_group"], "2");
    assert_eq!(alice["count_rest"], "1");
    assert_eq!(alice["g2"], "2.8728");
    assert_eq!(alice["log_ratio"], "2.663");
    assert!(
        key.iter().all(|r| r["count_group"].parse::<usize>().unwrap() >= 2),
        "--min-count"
    );
}

#[test]
fn kwic_by_phrase_and_by_entity_id() {
    let run = full_run();
    let csv_out = run.join("kwic-phrase.csv");
    let o = rhetor(&[
        "kwic",
        "economic sanction*",
        &run.display().to_string(),
        "--window",
        "4",
        "--out",
        &csv_out.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = csv_rows(&csv_out);
    let hit = rows
        .iter()
        .find(|r| r["doc_id"] == "000_52ef42a271004872" && r["right"].starts_with("on Iran"))
        .unwrap_or_else(|| panic!("{rows:#?}"));
    assert_eq!(hit["match"], "economic sanctions");
    assert_eq!(hit["left"], "the political pressure and");
    assert_eq!(hit["author"], "Mehdi Khalaji");
    assert_eq!(hit["date"], "2012-05-14");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("[economic sanctions]"), "{stdout}");

    // Every linked mention of Khamenei, whatever the alias.
    let csv_out = run.join("kwic-entity.csv");
    let o = rhetor(&[
        "kwic",
        "Q57336",
        &run.display().to_string(),
        "--out",
        &csv_out.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = csv_rows(&csv_out);
    let matches: std::collections::BTreeSet<&str> = rows.iter().map(|r| r["match"].as_str()).collect();
    // Mentions leave titles out ("Ayatollah Ali Khamenei" is the mention "Ali Khamenei").
    for alias in ["Ali Khamenei", "Khamenei", "the supreme leader"] {
        assert!(
            matches.iter().any(|m| m.eq_ignore_ascii_case(alias)),
            "{alias} in {matches:?}"
        );
    }
    assert!(rows.iter().all(|r| r["doc_id"] == "000_52ef42a271004872"));
}

#[test]
fn report_renders_offline_in_headless_chromium() {
    let run = full_run();
    let report = run.join("report.html");
    let o = rhetor(&[
        "report",
        &run.display().to_string(),
        "--out",
        &report.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        !html.contains("<script src") && !html.contains("<link "),
        "self-contained"
    );
    let shots = repo().join("target/test-artifacts");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("report.png");
    let o = std::process::Command::new("node")
        .arg(repo().join("tests/browser/check_report.mjs"))
        .arg(&report)
        .arg(&shot)
        .output()
        .expect("node runs (make test installs Chromium and playwright-core)");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let facts: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(facts["problems"], serde_json::json!([]), "console errors: {facts}");
    assert_eq!(facts["requests"], serde_json::json!([]), "network requests: {facts}");
    let sections: Vec<&str> = facts["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for s in [
        "Corpus",
        "Entity salience over time",
        "Stance over time",
        "Recommendation instruments",
        "Provenance",
    ] {
        assert!(sections.contains(&s), "{s} in {sections:?}");
    }
    assert!(facts["charts"].as_u64().unwrap() >= 6, "{facts}");
    assert!(facts["legends"].as_u64().unwrap() >= 6);
    assert!(facts["marks"].as_u64().unwrap() >= 5, "actors highlighted: {facts}");
    let titles = facts["chartTitles"].to_string();
    assert!(titles.contains("Stance toward Sanctions on Iran"), "{titles}");
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a screenshot was saved"
    );
    assert!(html.contains("all-minilm-l6-v2"), "provenance names the encoder");
}

/// A corpus whose answer is known: "Hawk" recommends in every document, "Dove" never, and
/// "Twin" holds copies of Hawk's documents. Six documents each, one a year from 2010.
fn known_answer_run() -> &'static PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rhetor-compare-known-{}", std::process::id()));
        let inputs = dir.join("in");
        std::fs::create_dir_all(&inputs).unwrap();
        let filler = "The delegations met in Vienna on a mild morning. The hotel lobby was crowded with reporters. ";
        for i in 0..6 {
            let year = 2010 + i;
            let advice =
                "Washington must impose new sanctions on Iran. The United States should cut off Tehran's oil revenue. "
                    .repeat(1 + i as usize % 3);
            for (author, body) in [
                ("Hawk", format!("{advice}{}", filler.repeat(4))),
                ("Twin", format!("{advice}{}", filler.repeat(4))),
                ("Dove", filler.repeat(5)),
            ] {
                std::fs::write(
                    inputs.join(format!("{}-{year}.md", author.to_lowercase())),
                    format!("---\nauthor: {author}\ndate: {year}-03-01\n---\n\n{body}\n"),
                )
                .unwrap();
            }
        }
        let out = dir.join("out");
        let (code, err) = analyze(&[&inputs.display().to_string()], &out);
        assert_eq!(code, 0, "{err}");
        out
    })
}

fn compare_into(out: &std::path::Path, args: &[&str]) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut all = vec![
        "compare",
        known_answer_run().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let o = rhetor(&all);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    csv_rows(&out.join("corpus_long.csv"))
}

#[test]
fn contrasts_find_the_planted_difference_and_not_a_null_one() {
    let dir = tempdir().unwrap();
    let out = dir.path().join("hawk-dove");
    compare_into(&out, &["--period", "none", "--contrast", "Hawk", "Dove"]);
    let rows = csv_rows(&out.join("contrasts.csv"));
    let rate = rows
        .iter()
        .find(|r| r["table"] == "corpus" && r["measure"] == "recommendations_per_1000_words")
        .expect("the corpus rate is contrasted");
    assert_eq!((rate["a"].as_str(), rate["b"].as_str()), ("Hawk", "Dove"));
    assert_eq!((rate["documents_a"].as_str(), rate["documents_b"].as_str()), ("6", "6"));
    assert_eq!(rate["value_b"], "0.0");
    let diff: f64 = rate["difference"].parse().unwrap();
    let (lo, hi): (f64, f64) = (
        rate["difference_ci_low"].parse().unwrap(),
        rate["difference_ci_high"].parse().unwrap(),
    );
    assert!(diff < 0.0 && lo <= diff && diff <= hi && hi < 0.0, "{rate:?}");
    // Six documents against six: the exact two-sided p-value is 2 / C(12, 6) = 0.0022.
    let p: f64 = rate["p_value"].parse().unwrap();
    assert!(p < 0.01, "{rate:?}");

    let out = dir.path().join("hawk-twin");
    compare_into(&out, &["--period", "none", "--contrast", "Hawk", "Twin"]);
    let rows = csv_rows(&out.join("contrasts.csv"));
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(r["difference"], "0.0", "{r:?}");
        assert!(r["p_value"].parse::<f64>().unwrap() > 0.05, "{r:?}");
        assert!(r["q_value"].parse::<f64>().unwrap() > 0.05, "{r:?}");
    }

    // An unknown group is a clear error naming the groups there are.
    let o = rhetor(&[
        "compare",
        known_answer_run().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--contrast",
        "Hawk",
        "Owl",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("\"Owl\"") && err.contains("Dove, Hawk, Twin"), "{err}");
}

#[test]
fn intervals_hold_the_estimate_and_reruns_are_byte_identical() {
    let dir = tempdir().unwrap();
    let (first, second) = (dir.path().join("a"), dir.path().join("b"));
    let rows = compare_into(&first, &["--period", "none", "--bootstrap", "500"]);
    compare_into(&second, &["--period", "none", "--bootstrap", "500"]);
    for name in [
        "corpus_long.csv",
        "instruments_long.csv",
        "strength_long.csv",
        "corpus_long.parquet",
    ] {
        assert_eq!(
            std::fs::read(first.join(name)).unwrap(),
            std::fs::read(second.join(name)).unwrap(),
            "{name} differs between two runs"
        );
    }
    let hawk = rows.iter().find(|r| r["group"] == "Hawk").unwrap();
    let v: f64 = hawk["recommendations_per_1000_words"].parse().unwrap();
    let lo: f64 = hawk["recommendations_per_1000_words_ci_low"].parse().unwrap();
    let hi: f64 = hawk["recommendations_per_1000_words_ci_high"].parse().unwrap();
    assert!(lo < v && v < hi, "{hawk:?}");
    // Rate by hand: recommendations per 1,000 words of the group's documents.
    let recs: f64 = hawk["recommendations"].parse().unwrap();
    let words: f64 = hawk["words"].parse().unwrap();
    assert!((v - 1000.0 * recs / words).abs() < 1e-3);
    let strength = csv_rows(&first.join("strength_long.csv"));
    for r in strength.iter().filter(|r| r["group"] == "Hawk") {
        let (lo, v, hi): (f64, f64, f64) = (
            r["share_ci_low"].parse().unwrap(),
            r["share"].parse().unwrap(),
            r["share_ci_high"].parse().unwrap(),
        );
        assert!(lo <= v && v <= hi, "{r:?}");
        assert_eq!(r["documents"], "6");
    }
    // Another seed draws other resamples; no resamples, no intervals.
    let other = dir.path().join("c");
    let rows = compare_into(&other, &["--period", "none", "--bootstrap", "500", "--seed", "2"]);
    let hawk2 = rows.iter().find(|r| r["group"] == "Hawk").unwrap();
    assert_ne!(
        (
            &hawk["recommendations_per_1000_words_ci_low"],
            &hawk["recommendations_per_1000_words_ci_high"]
        ),
        (
            &hawk2["recommendations_per_1000_words_ci_low"],
            &hawk2["recommendations_per_1000_words_ci_high"]
        )
    );
    let rows = compare_into(&other, &["--period", "none", "--bootstrap", "0"]);
    assert!(rows
        .iter()
        .all(|r| r["recommendations_per_1000_words_ci_low"].is_empty()));
}

#[test]
fn periods_since_until_and_rolling_windows() {
    let dir = tempdir().unwrap();
    let out = dir.path().join("window");
    let rows = compare_into(
        &out,
        &[
            "--by",
            "period",
            "--period",
            "year",
            "--since",
            "2011",
            "--until",
            "2014-12",
            "--rolling",
            "2",
        ],
    );
    let docs: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r["period"].clone(), r["documents"].clone()))
        .collect();
    // 2011 to 2014, three documents a year; each window holds its year and the one before.
    assert_eq!(
        docs,
        [("2011", "3"), ("2012", "6"), ("2013", "6"), ("2014", "6")]
            .iter()
            .map(|(p, d)| (p.to_string(), d.to_string()))
            .collect::<Vec<_>>()
    );
    assert!(rows.iter().all(|r| r["group"] == "all"));
    // Two periods contrasted with --by period.
    compare_into(&out, &["--by", "period", "--contrast", "2010", "2015"]);
    let c = csv_rows(&out.join("contrasts.csv"));
    assert!(
        c.iter()
            .any(|r| r["a"] == "2010" && r["b"] == "2015" && r["documents_a"] == "3"),
        "{c:?}"
    );
    // A date that is not ISO is a usage error.
    let o = rhetor(&["compare", known_answer_run().to_str().unwrap(), "--since", "March 2012"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The report draws each point's interval as a whisker, hollows points on few documents, and
/// has a contrasts section; the file appears whole.
#[test]
fn report_draws_intervals_and_the_contrast() {
    let dir = tempdir().unwrap();
    let html = dir.path().join("report.html");
    let o = rhetor(&[
        "report",
        known_answer_run().to_str().unwrap(),
        "--out",
        html.to_str().unwrap(),
        "--period",
        "none",
        "--min-docs",
        "7",
        "--contrast",
        "Hawk",
        "Dove",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<h2>Contrast: Dove against Hawk</h2>"),
        "no contrast section"
    );
    assert!(
        page.contains("<tr class=sig><td>corpus</td><td>recommendations_per_1000_words</td>"),
        "the planted difference is not marked"
    );
    assert!(!dir.path().join(".report.html.partial").exists());

    // Five documents in one group: each salience point has its whisker, and with --min-docs 6
    // each is hollow.
    let o = rhetor(&[
        "report",
        full_run().to_str().unwrap(),
        "--out",
        html.to_str().unwrap(),
        "--by",
        "period",
        "--period",
        "none",
        "--min-docs",
        "6",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    let (whiskers, hollow) = (
        page.matches(r#"class="ci""#).count(),
        page.matches(r#"class="few""#).count(),
    );
    assert!(
        whiskers >= 4 && hollow >= whiskers,
        "{whiskers} whiskers, {hollow} hollow points"
    );
    assert!(page.contains(", 5 documents (few)"));
}

/// `sample`: a stratified draw, the same for the same seed; the coder's sheet hides rhetor's
/// labels, which the key file holds and which agree with the run's own tables.
#[test]
fn sample_draws_strata_and_keeps_the_labels_apart() {
    let dir = tempdir().unwrap();
    let run = sample_run().display().to_string();
    let draw = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec!["sample", &run, "--n", "40", "--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = rhetor(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        out
    };
    let first = draw("a.csv", &[]);
    let again = draw("b.csv", &[]);
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&again).unwrap(),
        "same seed, same sample"
    );
    let rows = csv_rows(&first);
    assert_eq!(rows.len(), 40);
    // 20 author-year strata (one document each): every one is in the sample.
    let strata: std::collections::BTreeSet<&str> = rows.iter().map(|r| r["stratum"].as_str()).collect();
    assert_eq!(strata.len(), 20, "{strata:?}");
    assert!(
        rows[0].keys().all(|k| !k.starts_with("rhetor_")),
        "labels hidden from the coder"
    );
    assert!(rows
        .iter()
        .all(|r| r["code_recommendation"].is_empty() && r["coder"].is_empty()));
    // The key agrees with the recommendations table.
    let key = csv_rows(&dir.path().join("a.key.csv"));
    let recs = parquet(sample_run(), "recommendations");
    let with_rec: std::collections::BTreeSet<String> = strs(&recs, "doc_id")
        .into_iter()
        .zip(ints(&recs, "sent_id"))
        .map(|(d, k)| format!("{}#{k}", d.unwrap()))
        .collect();
    for k in &key {
        let expected = if with_rec.contains(&k["unit_id"]) { "yes" } else { "no" };
        assert_eq!(k["rhetor_recommendation"], expected, "{k:?}");
    }
    // Another seed, another draw; --show-labels puts the labels in the sheet.
    assert_ne!(
        std::fs::read(&first).unwrap(),
        std::fs::read(draw("c.csv", &["--seed", "9"])).unwrap()
    );
    let shown = csv_rows(&draw("d.csv", &["--show-labels"]));
    assert!(shown[0].contains_key("rhetor_recommendation"));
    let o = rhetor(&[
        "sample",
        &run,
        "--stratify",
        "colour",
        "--out",
        dir.path().join("e.csv").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("\"colour\""));
}
