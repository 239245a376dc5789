//! Metadata from every source, merged field by field by precedence:
//! `--metadata` table > sidecar `NAME.meta.json` > what the document itself says > the file name
//! (`YYYY-MM-DD_author-name_...`). Dates are normalised to ISO 8601, full or partial.

use crate::document::Metadata;
use anyhow::{Context, Result};
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

/// Metadata as one source states it, before merging.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetaSource {
    pub title: Option<String>,
    pub authors: Vec<String>,
    pub date_raw: Option<String>,
    pub publication: Option<String>,
    pub url: Option<String>,
    pub extra: BTreeMap<String, String>,
}

/// Keys with a meaning of their own; everything else is kept as extra metadata.
const TITLE_KEYS: &[&str] = &["title", "headline"];
const AUTHOR_KEYS: &[&str] = &["author", "authors", "byline", "creator"];
const DATE_KEYS: &[&str] = &[
    "date",
    "published",
    "pubdate",
    "published_at",
    "date_published",
    "publication_date",
];
const PUBLICATION_KEYS: &[&str] = &["publication", "source", "publisher", "outlet", "site_name"];
const URL_KEYS: &[&str] = &["url", "link", "canonical_url"];
/// Keys that are consumed elsewhere (document text and identity), never metadata.
const RESERVED_KEYS: &[&str] = &["text", "id", "doc_id", "file", "filename", "path"];

impl MetaSource {
    /// Sets a field from a key/value pair; unknown keys go to `extra`. Empty values are ignored.
    pub fn set(&mut self, key: &str, value: &Value) {
        let k = key.trim().to_lowercase();
        if RESERVED_KEYS.contains(&k.as_str()) {
            return;
        }
        let as_text = |v: &Value| -> Option<String> {
            let s = match v {
                Value::Null => return None,
                Value::String(s) => s.trim().to_string(),
                Value::Array(items) => items.iter().filter_map(value_to_string).collect::<Vec<_>>().join("; "),
                other => value_to_string(other)?,
            };
            (!s.is_empty()).then_some(s)
        };
        if AUTHOR_KEYS.contains(&k.as_str()) {
            let authors: Vec<String> = match value {
                Value::Array(items) => items.iter().filter_map(value_to_string).collect(),
                Value::Object(o) => o.get("name").and_then(value_to_string).into_iter().collect(),
                other => value_to_string(other)
                    .map(|s| split_authors_list(&s))
                    .unwrap_or_default(),
            };
            let authors: Vec<String> = authors
                .into_iter()
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect();
            if !authors.is_empty() && self.authors.is_empty() {
                self.authors = authors;
            }
            return;
        }
        let Some(v) = as_text(value) else { return };
        let slot = if TITLE_KEYS.contains(&k.as_str()) {
            &mut self.title
        } else if DATE_KEYS.contains(&k.as_str()) {
            &mut self.date_raw
        } else if PUBLICATION_KEYS.contains(&k.as_str()) {
            &mut self.publication
        } else if URL_KEYS.contains(&k.as_str()) {
            &mut self.url
        } else {
            self.extra.entry(k).or_insert(v);
            return;
        };
        // A second key for the same field ("source" beside "publication") is kept as its own column.
        if slot.is_none() {
            *slot = Some(v);
        } else {
            self.extra.entry(k).or_insert(v);
        }
    }

    pub fn from_map<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a Value)>) -> Self {
        let mut m = MetaSource::default();
        for (k, v) in pairs {
            m.set(k, v);
        }
        m
    }
}

fn value_to_string(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.trim().to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// Splits an author string stated in metadata: "A; B" (never on "and", which names contain).
fn split_authors_list(s: &str) -> Vec<String> {
    s.split(';')
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect()
}

/// Splits a byline: "A, B and C", "A & B".
pub fn split_byline(s: &str) -> Vec<String> {
    static SEP: std::sync::LazyLock<regex::Regex> =
        LazyLock::new(|| Regex::new(r"\s*,\s*(?i:and\s+)?|\s+(?i:and)\s+|\s*&\s*").unwrap());
    SEP.split(s.trim())
        .map(|a| a.trim().trim_end_matches('.').trim().to_string())
        .filter(|a| !a.is_empty())
        .collect()
}

/// Merges sources, highest precedence first, field by field.
pub fn merge(sources: &[&MetaSource]) -> Metadata {
    let pick = |f: &dyn Fn(&MetaSource) -> Option<String>| sources.iter().find_map(|s| f(s));
    let date_raw = pick(&|s| s.date_raw.clone());
    let mut extra = BTreeMap::new();
    for s in sources.iter().rev() {
        for (k, v) in &s.extra {
            extra.insert(k.clone(), v.clone());
        }
    }
    Metadata {
        title: pick(&|s| s.title.clone()),
        authors: sources
            .iter()
            .find(|s| !s.authors.is_empty())
            .map(|s| s.authors.clone())
            .unwrap_or_default(),
        date: date_raw.as_deref().and_then(normalize_date),
        date_raw,
        publication: pick(&|s| s.publication.clone()),
        url: pick(&|s| s.url.clone()),
        extra,
    }
}

/// Metadata in a file name `YYYY-MM-DD_author-name_anything` (or `YYYY-MM-DD_anything`,
/// `YYYY_...`): the date, and the author when the second part looks like a name.
pub fn from_file_name(path: &Path) -> MetaSource {
    let mut m = MetaSource::default();
    let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
        return m;
    };
    // The author part needs a part after it: in "2013-11-24_geneva-interim" the second part is a title.
    static NAME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(\d{4}(?:-\d{2}(?:-\d{2})?)?)(?:_([a-z][a-z.'-]*[a-z.])_.+|_.*)?$").unwrap());
    if let Some(c) = NAME.captures(stem) {
        m.date_raw = Some(c[1].to_string());
        if let Some(a) = c.get(2) {
            let name = a
                .as_str()
                .split('-')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let mut cs = p.chars();
                    match cs.next() {
                        Some(f) => f.to_uppercase().chain(cs).collect::<String>(),
                        None => String::new(),
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            if name.split(' ').count() >= 2 {
                m.authors = vec![name];
            }
        }
    }
    m
}

/// The sidecar `NAME.meta.json` of `NAME.ext`, if there is one.
pub fn sidecar_path(path: &Path) -> Option<std::path::PathBuf> {
    let stem = path.file_stem()?.to_str()?;
    let p = path.with_file_name(format!("{stem}.meta.json"));
    p.is_file().then_some(p)
}

/// Reads a sidecar; any key other than the known ones is kept as extra metadata.
pub fn read_sidecar(path: &Path) -> Result<MetaSource> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read metadata sidecar {}", path.display()))?;
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("metadata sidecar {} is not valid JSON", path.display()))?;
    let Value::Object(o) = v else {
        anyhow::bail!("metadata sidecar {} must hold a JSON object", path.display());
    };
    Ok(MetaSource::from_map(o.iter()))
}

/// The `--metadata` table: one row per document, keyed by file name, path or id.
#[derive(Debug, Default)]
pub struct MetadataTable {
    rows: BTreeMap<String, MetaSource>,
    pub source: Option<String>,
}

impl MetadataTable {
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read metadata table {}", path.display()))?;
        let text = super::decode::decode(&bytes)
            .map_err(|e| anyhow::anyhow!("metadata table {}: {e}", path.display()))?
            .text;
        let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
        let headers: Vec<String> = rdr
            .headers()
            .with_context(|| format!("metadata table {}: cannot read the header row", path.display()))?
            .iter()
            .map(|h| h.trim().to_lowercase())
            .collect();
        let key_col = headers
            .iter()
            .position(|h| matches!(h.as_str(), "file" | "filename" | "path" | "id" | "doc_id"))
            .with_context(|| {
                format!(
                    "metadata table {} needs a key column named file, filename, path, id or doc_id",
                    path.display()
                )
            })?;
        let mut rows = BTreeMap::new();
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.with_context(|| format!("metadata table {}: row {} is malformed", path.display(), i + 2))?;
            let key = rec.get(key_col).unwrap_or("").trim().to_string();
            if key.is_empty() {
                continue;
            }
            let mut m = MetaSource::default();
            for (h, v) in headers.iter().zip(rec.iter()) {
                if !v.trim().is_empty() {
                    m.set(h, &Value::String(v.to_string()));
                }
            }
            rows.insert(key, m);
        }
        Ok(Self {
            rows,
            source: Some(path.display().to_string()),
        })
    }

    /// The row for a document: by doc_id, file name, or path as given.
    pub fn lookup(&self, doc_id: &str, path: &str) -> Option<&MetaSource> {
        let file_name = Path::new(path).file_name().and_then(|s| s.to_str()).unwrap_or(path);
        self.rows
            .get(doc_id)
            .or_else(|| self.rows.get(file_name))
            .or_else(|| self.rows.get(path))
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("february", 2),
    ("march", 3),
    ("april", 4),
    ("may", 5),
    ("june", 6),
    ("july", 7),
    ("august", 8),
    ("september", 9),
    ("october", 10),
    ("november", 11),
    ("december", 12),
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sep", 9),
    ("sept", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
];

fn month(s: &str) -> Option<u32> {
    let s = s.trim_end_matches('.').to_lowercase();
    MONTHS.iter().find(|(n, _)| *n == s).map(|(_, m)| *m)
}

fn iso(y: i32, m: Option<u32>, d: Option<u32>) -> Option<String> {
    if !(1000..=2999).contains(&y) {
        return None;
    }
    match (m, d) {
        (Some(m), Some(d)) => chrono::NaiveDate::from_ymd_opt(y, m, d).map(|dt| dt.format("%Y-%m-%d").to_string()),
        (Some(m), None) if (1..=12).contains(&m) => Some(format!("{y:04}-{m:02}")),
        (None, None) => Some(format!("{y:04}")),
        _ => None,
    }
}

/// Normalises a date string to ISO 8601 (`2012-05-14`, `2012-05`, `2012`), or None if it is not a
/// date. Accepts ISO dates and timestamps, "May 14, 2012", "14 May 2012", "Monday, May 14, 2012",
/// "May 2012", "2012", "05/14/2012" (US order) and "14.05.2012".
pub fn normalize_date(raw: &str) -> Option<String> {
    let s = raw.trim().trim_end_matches('.');
    // Compiled once: dates are normalised for every candidate of every page.
    static LABEL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)^(published|posted|updated|date)\s*(on)?\s*:?\s*").unwrap());
    static ISO: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$").unwrap()
    });
    static YEAR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d{4}$").unwrap());
    static US: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(\d{1,2})/(\d{1,2})/(\d{4})$").unwrap());
    static EUROPEAN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$").unwrap());
    static WEEKDAY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)^(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+").unwrap());
    let s = LABEL.replace(s, "");
    let s = s.trim();
    // ISO date or timestamp.
    if let Some(c) = ISO.captures(s) {
        return iso(
            c[1].parse().ok()?,
            c[2].parse().ok(),
            c.get(3).and_then(|d| d.as_str().parse().ok()),
        );
    }
    if YEAR.is_match(s) {
        return iso(s.parse().ok()?, None, None);
    }
    // 05/14/2012 (US) and 14.05.2012 (European).
    if let Some(c) = US.captures(s) {
        return iso(c[3].parse().ok()?, c[1].parse().ok(), c[2].parse().ok());
    }
    if let Some(c) = EUROPEAN.captures(s) {
        return iso(c[3].parse().ok()?, c[2].parse().ok(), c[1].parse().ok());
    }
    // Drop a leading weekday: "Monday, May 14, 2012".
    let s = WEEKDAY.replace(s, "");
    let words: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let day = |w: &str| -> Option<u32> {
        let w = w.trim_end_matches(|c: char| c.is_alphabetic()); // 14th
        w.parse().ok().filter(|d| (1..=31).contains(d))
    };
    let year = |w: &str| -> Option<i32> { (w.len() == 4).then(|| w.parse().ok()).flatten() };
    match words.as_slice() {
        [m, d, y] if month(m).is_some() => iso(year(y)?, month(m), Some(day(d)?)),
        [d, m, y] if month(m).is_some() => iso(year(y)?, month(m), Some(day(d)?)),
        [m, y] if month(m).is_some() => iso(year(y)?, month(m), None),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        for (raw, want) in [
            ("May 14, 2012", Some("2012-05-14")),
            ("Monday, May 14, 2012", Some("2012-05-14")),
            ("14 May 2012", Some("2012-05-14")),
            ("Sept. 5, 2013", Some("2013-09-05")),
            ("2012-05-14T10:30:00Z", Some("2012-05-14")),
            ("2012-05-14T10:30:00+02:00", Some("2012-05-14")),
            ("May 2012", Some("2012-05")),
            ("2012", Some("2012")),
            ("2012-05", Some("2012-05")),
            ("05/14/2012", Some("2012-05-14")),
            ("14.05.2012", Some("2012-05-14")),
            ("Published: Feb 14, 2022", Some("2022-02-14")),
            ("February 30, 2012", None),
            ("last spring", None),
            ("May 14", None),
        ] {
            assert_eq!(normalize_date(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn file_names() {
        let m = from_file_name(Path::new("2002-01-29_george-w-bush_state-of-the-union.txt"));
        assert_eq!(m.date_raw.as_deref(), Some("2002-01-29"));
        assert_eq!(m.authors, vec!["George W Bush"]);
        let m = from_file_name(Path::new("2013-11-24_geneva-interim.md"));
        assert_eq!((m.date_raw.as_deref(), m.authors.len()), (Some("2013-11-24"), 0));
        let m = from_file_name(Path::new("000_52ef42a271004872.txt"));
        assert_eq!(m, MetaSource::default());
    }

    #[test]
    fn bylines() {
        assert_eq!(split_byline("Mehdi Khalaji"), vec!["Mehdi Khalaji"]);
        assert_eq!(
            split_byline("A. One, B. Two and C. Three"),
            vec!["A. One", "B. Two", "C. Three"]
        );
        assert_eq!(
            split_byline("Dennis Ross & David Makovsky"),
            vec!["Dennis Ross", "David Makovsky"]
        );
    }

    #[test]
    fn precedence_is_field_by_field() {
        let high = MetaSource {
            title: Some("High".into()),
            ..Default::default()
        };
        let low = MetaSource {
            title: Some("Low".into()),
            date_raw: Some("2012".into()),
            ..Default::default()
        };
        let m = merge(&[&high, &low]);
        assert_eq!(m.title.as_deref(), Some("High"));
        assert_eq!(m.date.as_deref(), Some("2012"));
    }
}
