//! Tables: documents become polars frames here (computation), and frames are written to CSV,
//! Parquet or JSONL by [`TableWriter`] (I/O). Column names are a contract documented in the README.

use crate::document::{Document, DocumentSummary};
use crate::errors::ErrorRecord;
use anyhow::{Context, Result};
use polars::prelude::*;
use polars_io::prelude::{CsvWriter, JsonFormat, JsonWriter, KeyValueMetadata, ParquetReader, ParquetWriter};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Output file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutFormat {
    Csv,
    Parquet,
    Jsonl,
}

impl OutFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Parquet => "parquet",
            Self::Jsonl => "jsonl",
        }
    }
}

fn col<T, P: ?Sized>(name: &str, values: T) -> Column
where
    Series: NamedFrom<T, P>,
{
    Series::new(name.into(), values).into()
}

fn frame(columns: Vec<Column>) -> Result<DataFrame> {
    Ok(DataFrame::new_infer_height(columns)?)
}

/// The contract columns of `documents`, before any extra metadata columns.
pub const DOCUMENT_COLUMNS: &[&str] = &[
    "doc_id",
    "path",
    "format",
    "title",
    "author",
    "date",
    "date_raw",
    "publication",
    "url",
    "n_sentences",
    "n_words",
    "sha256",
    "encoding",
];

/// One row per document: identity, merged metadata, counts, hash, then extra metadata columns
/// (sorted by name).
pub fn documents_frame(docs: &[DocumentSummary]) -> Result<DataFrame> {
    let s = |f: &dyn Fn(&DocumentSummary) -> Option<String>| docs.iter().map(f).collect::<Vec<Option<String>>>();
    let mut columns = vec![
        col("doc_id", s(&|d| Some(d.doc_id.clone()))),
        col("path", s(&|d| Some(d.path.clone()))),
        col("format", s(&|d| Some(d.format.as_str().to_string()))),
        col("title", s(&|d| d.meta.title.clone())),
        col(
            "author",
            s(&|d| (!d.meta.authors.is_empty()).then(|| d.meta.authors.join("; "))),
        ),
        col("date", s(&|d| d.meta.date.clone())),
        col("date_raw", s(&|d| d.meta.date_raw.clone())),
        col("publication", s(&|d| d.meta.publication.clone())),
        col("url", s(&|d| d.meta.url.clone())),
        col(
            "n_sentences",
            docs.iter().map(|d| d.n_sentences as i64).collect::<Vec<_>>(),
        ),
        col("n_words", docs.iter().map(|d| d.n_words as i64).collect::<Vec<_>>()),
        col("sha256", s(&|d| Some(d.sha256.clone()))),
        col("encoding", s(&|d| Some(d.encoding.clone()))),
    ];
    let extra_keys: BTreeSet<&String> = docs.iter().flat_map(|d| d.meta.extra.keys()).collect();
    for key in extra_keys {
        // An extra key that collides with a contract column is written with a `meta_` prefix.
        let name = if DOCUMENT_COLUMNS.contains(&key.as_str()) {
            format!("meta_{key}")
        } else {
            key.clone()
        };
        columns.push(col(&name, s(&|d| d.meta.extra.get(key).cloned())));
    }
    frame(columns)
}

/// doc_id, text: the clean text every offset points into.
pub fn texts_frame(docs: &[Document]) -> Result<DataFrame> {
    frame(vec![
        col("doc_id", docs.iter().map(|d| d.doc_id.as_str()).collect::<Vec<_>>()),
        col("text", docs.iter().map(|d| d.text.as_str()).collect::<Vec<_>>()),
    ])
}

/// doc_id, sent_id, start, end, text (offsets in chars into the clean text, end exclusive).
pub fn sentences_frame(docs: &[Document]) -> Result<DataFrame> {
    let n: usize = docs.iter().map(|d| d.sentences.len()).sum();
    let (mut ids, mut sent, mut start, mut end, mut text) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for d in docs {
        let idx = crate::text::CharIndex::new(&d.text);
        for (i, s) in d.sentences.iter().enumerate() {
            ids.push(d.doc_id.as_str());
            sent.push(i as i64);
            start.push(s.start as i64);
            end.push(s.end as i64);
            text.push(&d.text[idx.byte(s.start)..idx.byte(s.end)]);
        }
    }
    frame(vec![
        col("doc_id", ids),
        col("sent_id", sent),
        col("start", start),
        col("end", end),
        col("text", text),
    ])
}

/// doc_id, sent_id, token_id, start, end, text, is_word.
pub fn tokens_frame(docs: &[Document]) -> Result<DataFrame> {
    let n: usize = docs.iter().map(|d| d.tokens.len()).sum();
    let mut ids = Vec::with_capacity(n);
    let (mut sent, mut tok, mut start, mut end) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut text, mut is_word) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for d in docs {
        let idx = crate::text::CharIndex::new(&d.text);
        for (i, t) in d.tokens.iter().enumerate() {
            ids.push(d.doc_id.as_str());
            sent.push(t.sent_id as i64);
            tok.push(i as i64);
            start.push(t.span.start as i64);
            end.push(t.span.end as i64);
            text.push(&d.text[idx.byte(t.span.start)..idx.byte(t.span.end)]);
            is_word.push(t.is_word);
        }
    }
    frame(vec![
        col("doc_id", ids),
        col("sent_id", sent),
        col("token_id", tok),
        col("start", start),
        col("end", end),
        col("text", text),
        col("is_word", is_word),
    ])
}

/// path, stage, message.
pub fn errors_frame(errors: &[ErrorRecord]) -> Result<DataFrame> {
    frame(vec![
        col("path", errors.iter().map(|e| e.path.as_str()).collect::<Vec<_>>()),
        col("stage", errors.iter().map(|e| e.stage).collect::<Vec<_>>()),
        col("message", errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>()),
    ])
}

/// Writes frames into one folder in the chosen formats, with provenance in Parquet metadata.
pub struct TableWriter {
    pub dir: PathBuf,
    pub formats: Vec<OutFormat>,
    /// Key/value pairs written into every Parquet file's metadata (no times, so reruns are
    /// byte-identical).
    pub provenance: Vec<(String, String)>,
    /// CSV cells exactly as the text has them (`--csv-raw`); else spreadsheet-safe (see
    /// [`spreadsheet_safe`]).
    pub csv_raw: bool,
}

/// A text cell a spreadsheet would run as a formula: it begins with `=`, `+`, `-`, `@`, a tab or
/// a carriage return and is not a number (OWASP's CSV-injection advice).
fn is_formula_like(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.trim().parse::<f64>().is_err()
}

/// The frame with every formula-like text cell prefixed by `'`, which spreadsheets read as "this
/// is text" and do not show. Only CSV gets this; Parquet and JSONL keep the raw value.
pub fn spreadsheet_safe(df: &DataFrame) -> Result<DataFrame> {
    let mut out = df.clone();
    for name in df.get_column_names_owned() {
        let col = df.column(&name)?;
        if col.dtype() != &DataType::String {
            continue;
        }
        let ca = col.str()?;
        if !ca.iter().flatten().any(is_formula_like) {
            continue;
        }
        let safe: StringChunked = ca
            .iter()
            .map(|v| {
                v.map(|s| {
                    if is_formula_like(s) {
                        format!("'{s}")
                    } else {
                        s.to_string()
                    }
                })
            })
            .collect();
        out.replace(&name, safe.with_name(name.clone()).into_series().into())?;
    }
    Ok(out)
}

/// Where a table is written until it is complete: a hidden file beside it, renamed over the
/// final name at the end, so a killed run never leaves a truncated table under a table's name.
pub fn partial_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.partial"))
}

/// Writes `bytes` to `path` whole or not at all (through its partial file).
pub fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let partial = partial_path(path);
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, path)
}

impl TableWriter {
    /// Writes `df` as `dir/name.EXT` for each format (`csv` only if `csv_ok`); returns the paths.
    pub fn write(&self, name: &str, df: &mut DataFrame, csv_ok: bool) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for &f in &self.formats {
            if f == OutFormat::Csv && !csv_ok {
                continue;
            }
            let path = self.dir.join(format!("{name}.{}", f.extension()));
            write_frame(df, &path, f, &self.provenance, self.csv_raw)
                .with_context(|| format!("cannot write {}", path.display()))?;
            written.push(path);
        }
        Ok(written)
    }
}

/// One table written chunk by chunk (documents are analysed and dropped in chunks, so memory
/// does not grow with the corpus). Every format is open at once; the files are complete after
/// [`TableStream::finish`]. Chunk boundaries depend only on the inputs, so output is
/// byte-identical whatever the number of threads.
pub struct TableStream {
    csv: Option<polars_io::csv::write::BatchedWriter<BufWriter<File>>>,
    parquet: Option<polars_io::parquet::write::BatchedWriter<BufWriter<File>>>,
    jsonl: Option<BufWriter<File>>,
    paths: Vec<PathBuf>,
    name: String,
    csv_raw: bool,
}

impl TableStream {
    /// Opens `dir/name.EXT` for each format (`csv` only if `csv_ok`); `empty` is an empty frame
    /// with the table's columns (written at once, so even a table with no rows has its header).
    pub fn open(writer: &TableWriter, name: &str, empty: &DataFrame, csv_ok: bool) -> Result<Self> {
        let mut s = Self {
            csv: None,
            parquet: None,
            jsonl: None,
            paths: Vec::new(),
            name: name.to_string(),
            csv_raw: writer.csv_raw,
        };
        let schema = empty.schema().as_ref().clone();
        for &f in &writer.formats {
            if f == OutFormat::Csv && !csv_ok {
                continue;
            }
            let path = writer.dir.join(format!("{name}.{}", f.extension()));
            let partial = partial_path(&path);
            let file =
                BufWriter::new(File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?);
            match f {
                // UTF-8 with BOM so Excel detects the encoding; RFC 4180 quoting.
                OutFormat::Csv => {
                    let w = CsvWriter::new(file)
                        .include_bom(true)
                        .include_header(true)
                        .batched(&schema)?;
                    s.csv = Some(w);
                }
                OutFormat::Parquet => {
                    let kv = KeyValueMetadata::from_static(writer.provenance.clone());
                    s.parquet = Some(
                        ParquetWriter::new(file)
                            .with_key_value_metadata(Some(kv))
                            .batched(&schema)?,
                    );
                }
                OutFormat::Jsonl => s.jsonl = Some(file),
            }
            s.paths.push(path);
        }
        Ok(s)
    }

    /// Appends a chunk's rows.
    pub fn write(&mut self, df: &mut DataFrame) -> Result<()> {
        if df.height() == 0 {
            return Ok(());
        }
        let what = || format!("cannot write the {} table", self.name);
        if let Some(w) = &mut self.csv {
            let safe;
            let rows = if self.csv_raw {
                &*df
            } else {
                safe = spreadsheet_safe(df)?;
                &safe
            };
            w.write_batch(rows).map_err(anyhow::Error::from).with_context(what)?;
        }
        if let Some(w) = &mut self.parquet {
            df.rechunk_mut();
            w.write_batch(df).map_err(anyhow::Error::from).with_context(what)?;
        }
        if let Some(w) = &mut self.jsonl {
            JsonWriter::new(w)
                .with_json_format(JsonFormat::JsonLines)
                .finish(df)
                .map_err(anyhow::Error::from)
                .with_context(what)?;
        }
        Ok(())
    }

    /// Completes every file; returns their paths.
    pub fn finish(self) -> Result<Vec<PathBuf>> {
        use std::io::Write;
        let what = || format!("cannot finish the {} table", self.name);
        if let Some(mut w) = self.csv {
            w.finish().map_err(anyhow::Error::from).with_context(what)?;
        }
        if let Some(w) = self.parquet {
            w.finish().map_err(anyhow::Error::from).with_context(what)?;
        }
        if let Some(mut w) = self.jsonl {
            w.flush().with_context(what)?;
        }
        for path in &self.paths {
            std::fs::rename(partial_path(path), path).with_context(what)?;
        }
        Ok(self.paths)
    }
}

/// Writes one frame to `path` in `format` (provenance goes into Parquet's key-value metadata).
/// Written to a partial file first and renamed when complete; CSV is spreadsheet-safe unless
/// `csv_raw`.
pub fn write_frame(
    df: &mut DataFrame,
    path: &Path,
    format: OutFormat,
    provenance: &[(String, String)],
    csv_raw: bool,
) -> Result<()> {
    let partial = partial_path(path);
    let mut file = BufWriter::new(File::create(&partial)?);
    match format {
        // UTF-8 with BOM so Excel detects the encoding; RFC 4180 quoting.
        OutFormat::Csv => {
            let mut safe = if csv_raw { None } else { Some(spreadsheet_safe(df)?) };
            CsvWriter::new(&mut file)
                .include_bom(true)
                .include_header(true)
                .finish(safe.as_mut().unwrap_or(df))?
        }
        OutFormat::Parquet => {
            let kv = KeyValueMetadata::from_static(provenance.to_vec());
            ParquetWriter::new(&mut file)
                .with_key_value_metadata(Some(kv))
                .finish(df)?;
        }
        OutFormat::Jsonl => JsonWriter::new(&mut file)
            .with_json_format(JsonFormat::JsonLines)
            .finish(df)?,
    }
    use std::io::Write;
    file.flush()?;
    drop(file);
    std::fs::rename(&partial, path)?;
    Ok(())
}

/// Rounds a model score so tables do not depend on the last bits of floating-point arithmetic
/// (which may vary with thread scheduling).
fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// doc_id, sent_id, start, end, text, label, entity_id, entity_name, source, score.
pub fn mentions_frame(docs: &[Document]) -> Result<DataFrame> {
    let ms: Vec<(&str, &crate::entities::link::Mention)> = docs
        .iter()
        .flat_map(|d| d.mentions.iter().map(move |m| (d.doc_id.as_str(), m)))
        .collect();
    frame(vec![
        col("doc_id", ms.iter().map(|(d, _)| *d).collect::<Vec<_>>()),
        col("sent_id", ms.iter().map(|(_, m)| m.sent_id as i64).collect::<Vec<_>>()),
        col("start", ms.iter().map(|(_, m)| m.start as i64).collect::<Vec<_>>()),
        col("end", ms.iter().map(|(_, m)| m.end as i64).collect::<Vec<_>>()),
        col("text", ms.iter().map(|(_, m)| m.text.as_str()).collect::<Vec<_>>()),
        col("label", ms.iter().map(|(_, m)| m.label.as_str()).collect::<Vec<_>>()),
        col(
            "entity_id",
            ms.iter().map(|(_, m)| m.entity_id.as_str()).collect::<Vec<_>>(),
        ),
        col(
            "entity_name",
            ms.iter().map(|(_, m)| m.entity_name.as_str()).collect::<Vec<_>>(),
        ),
        col("source", ms.iter().map(|(_, m)| m.source).collect::<Vec<_>>()),
        col(
            "score",
            ms.iter().map(|(_, m)| round4(m.score as f64)).collect::<Vec<_>>(),
        ),
    ])
}

/// doc_id, entity_id, entity_name, label, mentions, first_sent, salience.
pub fn entities_frame(docs: &[Document]) -> Result<DataFrame> {
    let es: Vec<(&str, crate::entities::link::EntitySummary)> = docs
        .iter()
        .flat_map(|d| {
            crate::entities::link::summarise(&d.mentions)
                .into_iter()
                .map(move |e| (d.doc_id.as_str(), e))
        })
        .collect();
    frame(vec![
        col("doc_id", es.iter().map(|(d, _)| *d).collect::<Vec<_>>()),
        col(
            "entity_id",
            es.iter().map(|(_, e)| e.entity_id.as_str()).collect::<Vec<_>>(),
        ),
        col(
            "entity_name",
            es.iter().map(|(_, e)| e.entity_name.as_str()).collect::<Vec<_>>(),
        ),
        col("label", es.iter().map(|(_, e)| e.label.as_str()).collect::<Vec<_>>()),
        col(
            "mentions",
            es.iter().map(|(_, e)| e.mentions as i64).collect::<Vec<_>>(),
        ),
        col(
            "first_sent",
            es.iter().map(|(_, e)| e.first_sent as i64).collect::<Vec<_>>(),
        ),
        col(
            "salience",
            es.iter().map(|(_, e)| round4(e.salience)).collect::<Vec<_>>(),
        ),
    ])
}

/// doc_id, target, target_name, kind, stance, score, n_sentences, n_evidence, evidence (sentence
/// ids joined by ";"), basis.
pub fn stances_frame(docs: &[Document]) -> Result<DataFrame> {
    let rows: Vec<(&str, &crate::stance::DocumentStance)> = docs
        .iter()
        .flat_map(|d| d.stances.iter().map(move |s| (d.doc_id.as_str(), s)))
        .collect();
    frame(vec![
        col("doc_id", rows.iter().map(|(d, _)| *d).collect::<Vec<_>>()),
        col(
            "target",
            rows.iter().map(|(_, s)| s.target.as_str()).collect::<Vec<_>>(),
        ),
        col(
            "target_name",
            rows.iter().map(|(_, s)| s.target_name.as_str()).collect::<Vec<_>>(),
        ),
        col("kind", rows.iter().map(|(_, s)| s.kind).collect::<Vec<_>>()),
        col(
            "stance",
            rows.iter().map(|(_, s)| s.stance.as_str()).collect::<Vec<_>>(),
        ),
        col(
            "score",
            rows.iter().map(|(_, s)| round4(s.score as f64)).collect::<Vec<_>>(),
        ),
        col(
            "n_sentences",
            rows.iter().map(|(_, s)| s.n_sentences as i64).collect::<Vec<_>>(),
        ),
        col(
            "n_evidence",
            rows.iter().map(|(_, s)| s.evidence.len() as i64).collect::<Vec<_>>(),
        ),
        col(
            "evidence",
            rows.iter()
                .map(|(_, s)| s.evidence.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(";"))
                .collect::<Vec<_>>(),
        ),
        col("basis", rows.iter().map(|(_, s)| s.basis).collect::<Vec<_>>()),
    ])
}

/// One row per recommendation; see the README for the columns.
pub fn recommendations_frame(docs: &[Document]) -> Result<DataFrame> {
    let rows: Vec<(&Document, &crate::recommend::rules::Recommendation)> = docs
        .iter()
        .flat_map(|d| d.recommendations.iter().map(move |r| (d, r)))
        .collect();
    let s = |f: &dyn Fn(&crate::recommend::rules::Recommendation) -> String| {
        rows.iter().map(|(_, r)| f(r)).collect::<Vec<String>>()
    };
    let sentence_text: Vec<String> = rows
        .iter()
        .map(|(d, r)| d.slice(d.sentences[r.sent_id]).to_string())
        .collect();
    frame(vec![
        col(
            "doc_id",
            rows.iter().map(|(d, _)| d.doc_id.as_str()).collect::<Vec<_>>(),
        ),
        col(
            "sent_id",
            rows.iter().map(|(_, r)| r.sent_id as i64).collect::<Vec<_>>(),
        ),
        col("start", rows.iter().map(|(_, r)| r.start as i64).collect::<Vec<_>>()),
        col("end", rows.iter().map(|(_, r)| r.end as i64).collect::<Vec<_>>()),
        col("actor", s(&|r| r.actor.clone())),
        col("actor_raw", s(&|r| r.actor_raw.clone())),
        col("actor_id", s(&|r| r.actor_id.clone())),
        col("modality", s(&|r| r.modality.clone())),
        col("strength", s(&|r| r.strength.as_str().to_string())),
        col("polarity", s(&|r| r.polarity.as_str().to_string())),
        col("action", s(&|r| r.action.clone())),
        col("target", s(&|r| r.target.clone())),
        col("target_id", s(&|r| r.target_id.clone())),
        col("instrument", s(&|r| r.instrument.clone())),
        col("instruments", s(&|r| r.instruments.join(";"))),
        col("hedged", rows.iter().map(|(_, r)| r.hedged).collect::<Vec<_>>()),
        col("speaker", s(&|r| r.speaker.clone())),
        col(
            "score",
            rows.iter().map(|(_, r)| round4(r.score as f64)).collect::<Vec<_>>(),
        ),
        col(
            "rule_score",
            rows.iter()
                .map(|(_, r)| round4(r.rule_score as f64))
                .collect::<Vec<_>>(),
        ),
        col("text", sentence_text),
    ])
}

/// Reads `NAME.parquet` from a results folder (the output of `analyze`); `None` when it is not there.
pub fn read_result_table(results: &Path, name: &str) -> Result<Option<DataFrame>> {
    let p = results.join(format!("{name}.parquet"));
    if !p.is_file() {
        return Ok(None);
    }
    let f = File::open(&p).with_context(|| format!("cannot open {}", p.display()))?;
    Ok(Some(
        ParquetReader::new(f)
            .finish()
            .map_err(anyhow::Error::from)
            .with_context(|| format!("{} is not a Parquet table", p.display()))?,
    ))
}

/// A column's values as text (nulls as `None`).
pub fn column_strings(df: &DataFrame, col: &str) -> Result<Vec<Option<String>>> {
    let c = df.column(col)?.cast(&DataType::String)?;
    Ok(c.str()?.iter().map(|v| v.map(|s| s.to_string())).collect())
}

/// A column's values as text, nulls as empty strings.
pub fn column_texts(df: &DataFrame, col: &str) -> Result<Vec<String>> {
    Ok(column_strings(df, col)?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect())
}

/// A column's values as integers, nulls as 0.
pub fn column_ints(df: &DataFrame, col: &str) -> Result<Vec<i64>> {
    let c = df.column(col)?.cast(&DataType::Int64)?;
    Ok(c.i64()?.iter().map(|v| v.unwrap_or(0)).collect())
}

/// A column's values as floats (nulls as `None`).
pub fn column_floats(df: &DataFrame, col: &str) -> Result<Vec<Option<f64>>> {
    Ok(df.column(col)?.cast(&DataType::Float64)?.f64()?.iter().collect())
}
