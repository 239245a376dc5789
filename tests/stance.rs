//! Stance: `eval stance` in both gold layouts (its scores recomputed from its own predictions),
//! clear errors on bad gold files, and the `stances` table of `analyze` with the shipped model.
mod common;
use common::*;

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
    let dir = tempfile::tempdir().unwrap();
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
    let dir = tempfile::tempdir().unwrap();
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
    let dir = tempfile::tempdir().unwrap();
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
