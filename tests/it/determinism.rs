//! The same inputs give byte-identical tables, whatever --jobs.

use crate::common::*;

#[test]
fn jobs_1_and_jobs_2_write_identical_tables() {
    let a = tempdir().unwrap();
    let b = tempdir().unwrap();
    let inputs = ["data/corpus", &fixture("formats"), &fixture("bad")];
    let run = |out: &std::path::Path, jobs: &str| {
        let mut args: Vec<&str> = inputs.to_vec();
        args.extend_from_slice(&[
            "--jobs",
            jobs,
            "--format",
            "csv,parquet,jsonl",
            "--tokens",
            "--texts-csv",
        ]);
        analyze(&args, out).0
    };
    assert_eq!(run(a.path(), "1"), 3);
    assert_eq!(run(b.path(), "2"), 3);
    let mut names: Vec<String> = std::fs::read_dir(a.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(names.len(), 19, "{names:?}");
    for name in names.iter().filter(|n| *n != "manifest.json") {
        let (x, y) = (
            std::fs::read(a.path().join(name)).unwrap(),
            std::fs::read(b.path().join(name)).unwrap(),
        );
        assert!(x == y, "{name} differs between --jobs 1 and --jobs 2");
    }
    // The sample corpus really was read: 19 State of the Union addresses plus the reference.
    let docs = parquet(a.path(), "documents");
    let (paths, authors) = (strs(&docs, "path"), strs(&docs, "author"));
    let sotu_by = |who: &str| {
        paths
            .iter()
            .zip(&authors)
            .filter(|(p, a)| p.as_deref().unwrap().contains("/sotu/") && a.as_deref() == Some(who))
            .count()
    };
    assert_eq!(sotu_by("George W. Bush"), 7);
    assert_eq!(sotu_by("Barack Obama"), 7);
    assert_eq!(sotu_by("Donald J. Trump"), 4);
    assert_eq!(sotu_by("Joseph R. Biden Jr."), 1);
}

#[test]
fn entity_tables_do_not_depend_on_jobs() {
    let a = tempdir().unwrap();
    let b = tempdir().unwrap();
    let sotu = "data/corpus/sotu/2012-01-24_barack-obama_state-of-the-union.txt";
    for (out, jobs) in [(a.path(), "1"), (b.path(), "2")] {
        let (code, err) = analyze_full(&[&reference(), sotu, "--jobs", jobs], out);
        assert_eq!(code, 0, "{err}");
    }
    for name in ["mentions.parquet", "entities.parquet", "mentions.csv", "entities.csv"] {
        let (x, y) = (
            std::fs::read(a.path().join(name)).unwrap(),
            std::fs::read(b.path().join(name)).unwrap(),
        );
        assert!(x == y, "{name} differs between --jobs 1 and --jobs 2");
    }
    assert!(parquet(a.path(), "mentions").height() > 100);
}
