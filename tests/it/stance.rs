//! Stance: `eval stance` in both gold layouts (its scores recomputed from its own predictions),
//! clear errors on bad gold files, and the `stances` table of `analyze` with the shipped model.

use crate::common::*;

fn last_json(stdout: &[u8]) -> serde_json::Value {
    let s = String::from_utf8_lossy(stdout);
    serde_json::from_str(s.lines().last().expect("output")).unwrap_or_else(|e| panic!("{e}: {s}"))
}

/// (target, text, gold, predicted) rows of an `--predictions` file.
fn predictions(path: &std::path::Path) -> Vec<(String, String, String, String)> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|x| {
            let x = x.unwrap();
            (x[0].to_string(), x[1].to_string(), x[2].to_string(), x[3].to_string())
        })
        .collect()
}

fn f1(rows: &[(String, String, String, String)], class: &str) -> f64 {
    let tp = rows.iter().filter(|r| r.2 == class && r.3 == class).count() as f64;
    let gold = rows.iter().filter(|r| r.2 == class).count() as f64;
    let pred = rows.iter().filter(|r| r.3 == class).count() as f64;
    let (p, r) = (
        if pred > 0.0 { tp / pred } else { 0.0 },
        if gold > 0.0 { tp / gold } else { 0.0 },
    );
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

#[test]
fn eval_stance_semeval_layout_reports_f_avg_of_its_predictions() {
    let dir = tempdir().unwrap();
    let pred_path = dir.path().join("pred.csv");
    let o = rhetor(&[
        "eval",
        "stance",
        &fixture("stance/semeval"),
        "--split",
        "val",
        "--json",
        "--predictions",
        &pred_path.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j = last_json(&o.stdout);
    assert_eq!(j["layout"], "semeval");
    assert_eq!(j["n"], 11);
    let targets: Vec<&str> = j["per_target"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(targets, vec!["Hillary Clinton", "climate change is a real concern"]);
    let rows = predictions(&pred_path);
    assert_eq!(rows.len(), 11);
    // Labels: 0 none, 1 against, 2 favor; the task's hashtag is removed.
    assert_eq!(rows[0].0, "climate change is a real concern");
    assert_eq!(rows[0].2, "favor");
    assert_eq!(rows[2].2, "against");
    assert_eq!(rows[3].2, "neutral");
    assert!(rows.iter().all(|r| !r.1.contains("#SemST")));
    let expected = (f1(&rows, "favor") + f1(&rows, "against")) / 2.0;
    let reported = j["f_avg"].as_f64().unwrap();
    assert!((reported - expected).abs() < 1e-9, "{reported} vs {expected}");
    assert!(j.get("macro_f1").is_none());
    // The table on stdout names every target.
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Hillary Clinton") && text.contains("(all targets together)"));
}

#[test]
fn eval_stance_vast_layout_reports_macro_f1_of_its_predictions() {
    let dir = tempdir().unwrap();
    let pred_path = dir.path().join("pred.csv");
    let o = rhetor(&[
        "eval",
        "stance",
        &fixture("stance/vast.csv"),
        "--json",
        "--predictions",
        &pred_path.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j = last_json(&o.stdout);
    assert_eq!(j["layout"], "vast");
    assert_eq!(j["n"], 9);
    let rows = predictions(&pred_path);
    // Labels: 0 con, 1 pro, 2 neutral.
    assert_eq!((rows[0].0.as_str(), rows[0].2.as_str()), ("sanctions", "favor"));
    assert_eq!(rows[1].2, "against");
    assert_eq!(rows[2].2, "neutral");
    let expected = (f1(&rows, "favor") + f1(&rows, "against") + f1(&rows, "neutral")) / 3.0;
    let reported = j["macro_f1"].as_f64().unwrap();
    assert!((reported - expected).abs() < 1e-9, "{reported} vs {expected}");
}

#[test]
fn bad_gold_files_are_clear_errors() {
    let dir = tempdir().unwrap();
    let t = dir.path().join("abortion");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("val_text.txt"), "one\ntwo\n").unwrap();
    std::fs::write(t.join("val_labels.txt"), "1\n7\n").unwrap();
    let o = rhetor(&["eval", "stance", &dir.path().display().to_string()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("val_labels.txt:2") && err.contains("\"7\""), "{err}");

    std::fs::write(t.join("val_labels.txt"), "1\n").unwrap();
    let o = rhetor(&["eval", "stance", &dir.path().display().to_string()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("has 2 lines") && err.contains("has 1"), "{err}");

    let o = rhetor(&["eval", "stance", &dir.path().display().to_string(), "--split", "test"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("test_text.txt"), "{err}");
}

fn find<'a>(
    rows: &'a [std::collections::BTreeMap<String, String>],
    target: &str,
) -> &'a std::collections::BTreeMap<String, String> {
    rows.iter()
        .find(|r| r["target"] == target)
        .unwrap_or_else(|| panic!("no stance toward {target}: {rows:#?}"))
}

#[test]
fn reference_document_stances() {
    let dir = tempdir().unwrap();
    let (code, err) = analyze_full(&[&reference()], dir.path());
    assert_eq!(code, 0, "{err}");
    let rows = csv_rows(&dir.path().join("stances.csv"));
    let sentences = parquet(dir.path(), "sentences");
    let texts = strs(&sentences, "text");

    // The author recommends intensifying sanctions and negotiating seriously: favor both.
    let sanctions = find(&rows, "sanctions");
    assert_eq!(sanctions["stance"], "favor", "{sanctions:?}");
    assert_eq!(sanctions["basis"], "recommendations");
    let evidence: Vec<usize> = sanctions["evidence"].split(';').map(|s| s.parse().unwrap()).collect();
    assert_eq!(evidence.len().to_string(), sanctions["n_evidence"]);
    assert!(evidence.iter().any(|&i| texts[i]
        .as_deref()
        .unwrap()
        .contains("intensify the political pressure and economic sanctions")));
    let negotiations = find(&rows, "negotiations");
    assert_eq!(negotiations["stance"], "favor", "{negotiations:?}");

    // And is against Khamenei, the actor mentioned most (a target because he is mentioned twice or more).
    let khamenei = find(&rows, "entity:Q57336");
    assert_eq!(khamenei["target_name"], "Ali Khamenei");
    assert_eq!(khamenei["kind"], "entity");
    assert_eq!(khamenei["stance"], "against", "{khamenei:?}");
    assert_eq!(khamenei["basis"], "model");
    let score: f64 = khamenei["score"].parse().unwrap();
    assert!(score < 0.0);
    let n: usize = khamenei["n_sentences"].parse().unwrap();
    assert!(n >= 10, "Khamenei is named in many sentences: {n}");
    // Every stance row's evidence points at sentences of the document.
    for r in &rows {
        for s in r["evidence"].split(';').filter(|s| !s.is_empty()) {
            assert!(s.parse::<usize>().unwrap() < texts.len());
        }
    }
}

#[test]
fn user_targets_add_and_replace() {
    let dir = tempdir().unwrap();
    let targets = dir.path().join("targets.toml");
    std::fs::write(
        &targets,
        "[[target]]\nid = \"regime_change\"\nname = \"Regime change in Iran\"\n\
         description = \"overthrowing the Islamic Republic's leaders\"\nkeywords = [\"overthrow*\", \"regime\"]\n\n\
         [[target]]\nid = \"military_strike\"\nname = \"Israeli strike\"\ndescription = \"an Israeli strike on Iran\"\n\
         aliases = [\"pre-emptive military strike\"]\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let (code, err) = analyze_full(&[&reference(), "--targets", &targets.display().to_string()], &out);
    assert_eq!(code, 0, "{err}");
    let rows = csv_rows(&out.join("stances.csv"));
    let regime = find(&rows, "regime_change");
    assert_eq!(regime["target_name"], "Regime change in Iran");
    assert_eq!(regime["basis"], "model");
    // Its evidence is every sentence with "regime" or a word starting "overthrow", counted here.
    let sentences = parquet(&out, "sentences");
    let expected = strs(&sentences, "text")
        .iter()
        .filter(|t| {
            t.as_deref()
                .unwrap()
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w.eq_ignore_ascii_case("regime") || w.to_lowercase().starts_with("overthrow"))
        })
        .count();
    assert_eq!(regime["n_sentences"], expected.to_string());
    let strike = find(&rows, "military_strike");
    assert_eq!(strike["target_name"], "Israeli strike");
    assert_eq!(strike["n_sentences"], "1", "only the alias matches now: {strike:?}");
    assert!(["favor", "against", "neutral"].contains(&strike["stance"].as_str()));

    // A broken targets file is a usage error naming the file.
    std::fs::write(&targets, "[[target]]\nid = \"x\"\n").unwrap();
    let (code, err) = analyze_full(&[&reference(), "--targets", &targets.display().to_string()], &out);
    assert_eq!(code, 2, "a configuration error is a usage error");
    assert!(err.contains("targets.toml"), "{err}");
}
