//! What rhetor leaves in an output folder: spreadsheet-safe CSV, and tables that are complete or
//! absent whenever a run is killed.

use crate::common::*;
use polars_io::prelude::{ParquetReader, SerReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Sentences that a spreadsheet would run as formulas, and numbers that must stay numbers.
const FORMULAS: &str = "=1+1 is what a scraped comment may say.\n\n@SUM(A1) was quoted in a tweet.\n\n-2+3 is a sum too.\n\n+44 20 7946 0958 is a phone number.\n\nThe last sentence is plain.\n";

#[test]
fn csv_cells_a_spreadsheet_would_run_are_text() {
    let dir = tempdir().unwrap();
    let input = dir.path().join("formulas.txt");
    std::fs::write(&input, FORMULAS).unwrap();
    let (safe, raw) = (dir.path().join("safe"), dir.path().join("raw"));
    let input = input.display().to_string();
    assert_eq!(analyze(&[&input], &safe).0, 0);
    assert_eq!(analyze(&[&input, "--csv-raw"], &raw).0, 0);
    let texts = |p: &std::path::Path| -> Vec<String> {
        csv_rows(&p.join("sentences.csv"))
            .into_iter()
            .map(|r| r["text"].clone())
            .collect()
    };
    let safe_texts = texts(&safe);
    assert_eq!(safe_texts[0], "'=1+1 is what a scraped comment may say.");
    assert_eq!(safe_texts[1], "'@SUM(A1) was quoted in a tweet.");
    assert_eq!(safe_texts[2], "'-2+3 is a sum too.");
    assert_eq!(safe_texts[3], "'+44 20 7946 0958 is a phone number.");
    assert_eq!(safe_texts[4], "The last sentence is plain.");
    // --csv-raw, and Parquet always, keep the text as it is.
    assert_eq!(texts(&raw)[0], "=1+1 is what a scraped comment may say.");
    assert_eq!(
        strs(&parquet(&safe, "sentences"), "text")[0].as_deref(),
        Some("=1+1 is what a scraped comment may say.")
    );
}

/// Every table file present is complete (Parquet readable to its footer, CSV parsed to its end);
/// the manifest is absent or says the run completed.
fn assert_complete_or_absent(out: &std::path::Path) -> bool {
    let manifest = out.join("manifest.json");
    let completed = manifest.exists();
    if completed {
        let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
        assert_eq!(m["completed"], true, "a manifest that is not completed");
    }
    for entry in std::fs::read_dir(out).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".parquet") {
            let f = std::fs::File::open(&path).unwrap();
            ParquetReader::new(f)
                .finish()
                .unwrap_or_else(|e| panic!("{name} is truncated: {e}"));
        } else if name.ends_with(".csv") {
            let mut r = csv::Reader::from_path(&path).unwrap();
            let width = r.headers().unwrap().len();
            for rec in r.records() {
                assert_eq!(
                    rec.unwrap_or_else(|e| panic!("{name}: {e}")).len(),
                    width,
                    "{name} is truncated"
                );
            }
        }
    }
    completed
}

#[test]
fn a_killed_run_leaves_complete_tables_or_none() {
    let dir = tempdir().unwrap();
    let out = dir.path().join("out");
    let corpus = repo().join("data/corpus").display().to_string();
    let out_s = out.display().to_string();
    // A finished run first: its tables are then replaced by the killed runs.
    let (code, err) = analyze_full(&[&corpus, "--no-stance"], &out);
    assert_eq!(code, 0, "{err}");
    assert!(assert_complete_or_absent(&out));
    // Killed at several moments: while loading models, reading, analysing, writing.
    for millis in [150u64, 900, 2500, 5000, 9000] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rhetor"))
            .args(["analyze", &corpus, "--no-stance", "--out", &out_s, "--quiet"])
            .current_dir(repo())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(millis));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().ok(); // SIGKILL on Unix
        child.wait().unwrap();
        let completed = assert_complete_or_absent(&out);
        if !finished && !completed {
            // compare, report and kwic refuse the folder of an unfinished run.
            for args in [
                vec!["compare", &out_s],
                vec!["report", &out_s],
                vec!["kwic", "Iran", &out_s],
            ] {
                let o = rhetor(&args);
                assert!(!o.status.success(), "{args:?} accepted an unfinished run");
                let err = String::from_utf8_lossy(&o.stderr);
                assert!(err.contains("manifest"), "{args:?}: {err}");
            }
        }
    }
}
