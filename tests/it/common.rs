//! Helpers for driving the real `rhetor` binary and reading the tables it writes.
#![allow(dead_code)]

use polars::prelude::*;
use polars_io::prelude::{ParquetReader, SerReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(p: &str) -> String {
    repo().join("tests/fixtures").join(p).display().to_string()
}

pub const REFERENCE: &str = "data/corpus/think-tank/000_52ef42a271004872.txt";

pub fn reference() -> String {
    repo().join(REFERENCE).display().to_string()
}

/// Runs the binary with `args`, in the repo root.
pub fn rhetor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rhetor"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("the rhetor binary runs")
}

/// Runs `rhetor analyze ARGS --out DIR --quiet --no-entities` (ingestion and text only) and returns
/// the exit code and stderr.
pub fn analyze(args: &[&str], out: &Path) -> (i32, String) {
    let mut all: Vec<&str> = vec!["--no-entities"];
    all.extend_from_slice(args);
    analyze_full(&all, out)
}

/// Runs the whole pipeline, entities included: `rhetor analyze ARGS --out DIR --quiet`.
pub fn analyze_full(args: &[&str], out: &Path) -> (i32, String) {
    let mut all: Vec<&str> = vec!["analyze"];
    all.extend_from_slice(args);
    let out_s = out.display().to_string();
    all.extend_from_slice(&["--out", &out_s, "--quiet"]);
    let o = rhetor(&all);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

pub fn parquet(out: &Path, name: &str) -> DataFrame {
    let f = std::fs::File::open(out.join(format!("{name}.parquet"))).unwrap_or_else(|e| panic!("{name}.parquet: {e}"));
    ParquetReader::new(f).finish().unwrap()
}

/// The string values of a column (nulls as None).
pub fn strs(df: &DataFrame, col: &str) -> Vec<Option<String>> {
    let c = df
        .column(col)
        .unwrap_or_else(|_| panic!("no column {col}; columns: {:?}", df.get_column_names()));
    c.str().unwrap().iter().map(|v| v.map(str::to_string)).collect()
}

pub fn ints(df: &DataFrame, col: &str) -> Vec<i64> {
    df.column(col)
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .map(|v| v.unwrap())
        .collect()
}

/// The row of `df` whose `key` column equals `value`, as (column -> string) pairs.
pub fn row(df: &DataFrame, key: &str, value: &str) -> std::collections::BTreeMap<String, Option<String>> {
    let keys = strs(df, key);
    let i = keys
        .iter()
        .position(|k| k.as_deref() == Some(value))
        .unwrap_or_else(|| panic!("no row with {key} = {value}; have {keys:?}"));
    df.get_column_names()
        .iter()
        .map(|c| {
            let col = df.column(c.as_str()).unwrap();
            let v = match col.get(i).unwrap() {
                AnyValue::Null => None,
                AnyValue::String(s) => Some(s.to_string()),
                AnyValue::StringOwned(s) => Some(s.to_string()),
                other => Some(other.to_string()),
            };
            (c.to_string(), v)
        })
        .collect()
}

/// Slices a string by char offsets.
pub fn chars(text: &str, start: i64, end: i64) -> String {
    text.chars().skip(start as usize).take((end - start) as usize).collect()
}

/// The rows of a CSV table written by rhetor (byte-order mark dropped), as column -> value.
pub fn csv_rows(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers: Vec<String> = r
        .headers()
        .unwrap()
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    r.records()
        .map(|x| {
            headers
                .iter()
                .cloned()
                .zip(x.unwrap().iter().map(|v| v.to_string()))
                .collect()
        })
        .collect()
}

/// A fresh folder under the system's temporary folder, removed when dropped. Written here rather
/// than taken from the tempfile crate: a dev-dependency that switches on extra features of shared
/// dependencies (rustix, getrandom) makes `cargo test` rebuild polars with different features
/// from `cargo build`, doubling a cold build.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn tempdir() -> std::io::Result<TempDir> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let path = std::env::temp_dir().join(format!(
        "rhetor-test-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&path)?;
    Ok(TempDir(path))
}
