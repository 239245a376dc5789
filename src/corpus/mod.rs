//! Corpus stage: finds input files, decodes them, reads each format into clean text plus
//! metadata, and gives every document a stable id. One bad file (or line, or row) becomes a row in
//! the errors table; the others go on.

pub mod blocks;
pub mod decode;
pub mod html;
pub mod metadata;
pub mod rules;
pub mod warc;

use crate::document::{Document, Format};
use crate::errors::ErrorRecord;
use metadata::{MetaSource, MetadataTable};
use rules::Rules;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Supported extensions, for messages.
pub const SUPPORTED: &str = ".txt, .md/.markdown, .html/.htm, .jsonl, .csv and .warc, each also gzip-compressed (.gz)";

/// Bounds that protect the machine from hostile inputs; past one, the input (or record) is an
/// error row, never silently truncated.
#[derive(Debug, Clone, Copy)]
pub struct InputLimits {
    /// Largest decompressed `.gz` input, and largest WARC record or HTTP body (bytes).
    pub max_decompressed: u64,
    /// Longest clean text of one document (characters); a longer one is an error row, never cut.
    pub max_document_chars: usize,
    /// Longest line of a text, Markdown or JSONL file, and longest CSV record (characters): past
    /// it the document, line or record is an error row. HTML is exempt (minified pages are one
    /// line); its size is bounded by the other limits.
    pub max_line_chars: usize,
}

impl Default for InputLimits {
    fn default() -> Self {
        Self {
            max_decompressed: 1 << 30,
            max_document_chars: 20_000_000,
            max_line_chars: 5_000_000,
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The sha256 of a file read in pieces (archives can be larger than memory).
fn sha256_file_streaming(path: &Path) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).ok()?;
    Some(hex::encode(h.finalize()))
}

/// An input file found on the command line or under a given directory.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub format: Format,
    /// Compressed with gzip (`NAME.EXT.gz`).
    pub gzip: bool,
}

fn is_sidecar(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".meta.json"))
}

fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// The format of a file name, and whether it is gzip-compressed (`article.html.gz`).
fn format_of(p: &Path) -> Option<(Format, bool)> {
    let ext = |p: &Path| p.extension().and_then(|e| e.to_str()).map(str::to_lowercase);
    match ext(p)?.as_str() {
        "gz" | "gzip" => Format::from_extension(&ext(Path::new(p.file_stem()?))?).map(|f| (f, true)),
        e => Format::from_extension(e).map(|f| (f, false)),
    }
}

/// A file's stem without its format and compression extensions (`a.html.gz` -> `a`).
fn document_stem(p: &Path, gzip: bool) -> String {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("document");
    let mut stem = Path::new(name);
    let owned;
    if gzip {
        owned = stem.file_stem().map(Path::new).unwrap_or(stem).to_path_buf();
        stem = &owned;
    }
    stem.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("document")
        .to_string()
}

/// Expands files, directories (recursively, in sorted order) and glob patterns into input files.
/// Sidecars and hidden files under directories are skipped; anything else that cannot be read is
/// reported.
pub fn discover(args: &[String]) -> (Vec<InputFile>, Vec<ErrorRecord>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for arg in args {
        let p = PathBuf::from(arg);
        if !p.exists() && arg.contains(['*', '?', '[']) {
            match glob::glob(arg) {
                Ok(paths) => {
                    let mut matched: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
                    matched.sort();
                    if matched.is_empty() {
                        errors.push(ErrorRecord::new(
                            arg.as_str(),
                            "discover",
                            "no files match this pattern",
                        ));
                    }
                    for m in matched {
                        add_path(&m, false, &mut files, &mut errors, &mut seen);
                    }
                }
                Err(e) => errors.push(ErrorRecord::new(
                    arg.as_str(),
                    "discover",
                    format!("invalid glob pattern: {e}"),
                )),
            }
            continue;
        }
        add_path(&p, true, &mut files, &mut errors, &mut seen);
    }
    (files, errors)
}

fn add_path(
    p: &Path,
    explicit: bool,
    files: &mut Vec<InputFile>,
    errors: &mut Vec<ErrorRecord>,
    seen: &mut BTreeSet<PathBuf>,
) {
    let shown = p.display().to_string();
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(p) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                errors.push(ErrorRecord::new(
                    shown,
                    "discover",
                    format!("cannot list directory: {e}"),
                ));
                return;
            }
        };
        entries.sort();
        for e in entries {
            if is_hidden(&e) || is_sidecar(&e) {
                continue;
            }
            add_path(&e, false, files, errors, seen);
        }
        return;
    }
    if !p.exists() {
        errors.push(ErrorRecord::new(shown, "discover", "no such file or directory"));
        return;
    }
    if is_sidecar(p) {
        if explicit {
            errors.push(ErrorRecord::new(
                shown,
                "discover",
                "this is a metadata sidecar (NAME.meta.json), not a document; it is read with NAME.txt (or .md, .html)",
            ));
        }
        return;
    }
    match format_of(p) {
        Some((format, gzip)) => {
            if seen.insert(p.to_path_buf()) {
                files.push(InputFile {
                    path: p.to_path_buf(),
                    format,
                    gzip,
                });
            }
        }
        None => errors.push(ErrorRecord::new(
            shown,
            "discover",
            format!("unsupported file type; rhetor reads {SUPPORTED} (files of other types are not analysed)"),
        )),
    }
}

/// A document as read from its source, before ids are assigned and metadata merged.
#[derive(Debug, Clone)]
pub struct ReadDocument {
    pub path: String,
    pub stem: String,
    pub record: Option<usize>,
    pub id_hint: Option<String>,
    pub format: Format,
    pub encoding: String,
    pub sha256: String,
    pub text: String,
    /// What the document itself says (front matter, HTML meta, header lines, JSONL/CSV fields).
    pub internal: MetaSource,
    pub sidecar: Option<MetaSource>,
    pub file_name: MetaSource,
}

/// What reading one input file gave: its documents, its problems, and its hash for the manifest.
#[derive(Debug, Default)]
pub struct FileReading {
    pub documents: Vec<ReadDocument>,
    pub errors: Vec<ErrorRecord>,
    pub sha256: Option<String>,
    pub bytes: u64,
    /// Archive records that are not documents (requests, metadata, non-HTML responses).
    pub skipped_records: usize,
}

/// The bytes of a gzip stream, at most `limit` of them: `Ok((bytes, None))` when whole,
/// `Ok((bytes, Some(why)))` when the stream breaks after some bytes (truncated or corrupt; what
/// came before is kept), `Err` when nothing can be read or it expands past the limit (a
/// decompression bomb is an error, not an exhausted machine).
pub fn gunzip(compressed: &[u8], limit: u64) -> Result<(Vec<u8>, Option<String>), String> {
    use std::io::Read;
    let mut out = Vec::new();
    let result = flate2::read::MultiGzDecoder::new(compressed)
        .take(limit + 1)
        .read_to_end(&mut out);
    if out.len() as u64 > limit {
        return Err(format!(
            "the gzip file expands past the limit of {} MB (--max-input-mb); it was not read",
            limit >> 20
        ));
    }
    match result {
        Ok(_) => Ok((out, None)),
        Err(e) if out.is_empty() => Err(format!("not a readable gzip file ({e})")),
        Err(e) => {
            let n = out.len();
            Ok((
                out,
                Some(format!(
                    "the gzip stream breaks after {n} decompressed bytes ({e}); what came before is kept"
                )),
            ))
        }
    }
}

/// The first line of `text` longer than `limit` characters: its number (from 1) and length.
fn line_over(text: &str, limit: usize) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .find(|(_, l)| l.len() > limit && l.chars().count() > limit)
        .map(|(i, l)| (i + 1, l.chars().count()))
}

fn line_limit_message(what: &str, chars: usize, limit: usize, consequence: &str) -> String {
    format!("{what} has {chars} characters, more than the limit of {limit} (--max-line-chars); {consequence}")
}

/// Reads one input file into documents.
pub fn read_file(input: &InputFile, rules: &Rules, limits: &InputLimits) -> FileReading {
    let mut out = read_file_unlimited(input, rules, limits);
    // A document past the size limit (a whole book, a mis-split dump) would hold the chunk's
    // memory and time: it is an error row that names it and the limit, and nothing is truncated.
    let limit = limits.max_document_chars;
    let (kept, too_long): (Vec<_>, Vec<_>) = std::mem::take(&mut out.documents)
        .into_iter()
        .partition(|d| d.text.len() <= limit || d.text.chars().count() <= limit);
    out.documents = kept;
    for d in too_long {
        let place = d.record.map(|r| format!(" (record {})", r + 1)).unwrap_or_default();
        out.errors.push(ErrorRecord::new(
            format!("{}{place}", d.path),
            "limit",
            format!(
                "the document's text has {} characters, more than the limit of {limit} (--max-document-chars); it was \
                 not analysed",
                d.text.chars().count()
            ),
        ));
    }
    out
}

fn read_file_unlimited(input: &InputFile, rules: &Rules, limits: &InputLimits) -> FileReading {
    let path = &input.path;
    let shown = path.display().to_string();
    let mut out = FileReading::default();
    if input.format == Format::Warc {
        read_warc(input, rules, limits, &mut out);
        return out;
    }
    let raw = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            out.errors
                .push(ErrorRecord::new(shown, "read", format!("cannot read the file: {e}")));
            return out;
        }
    };
    out.sha256 = Some(sha256_hex(&raw));
    out.bytes = raw.len() as u64;
    // A compressed file is read under its own name without `.gz` (sidecar, file-name metadata).
    let logical = if input.gzip {
        path.with_extension("")
    } else {
        path.clone()
    };
    let path = &logical;
    let mut truncated = None;
    let bytes = if input.gzip {
        match gunzip(&raw, limits.max_decompressed) {
            Ok((b, t)) => {
                truncated = t;
                b
            }
            Err(e) => {
                out.errors.push(ErrorRecord::new(shown, "decode", e));
                return out;
            }
        }
    } else {
        raw
    };
    if let Some(why) = &truncated {
        out.errors.push(ErrorRecord::new(shown.clone(), "decode", why.clone()));
        // One document cut short is not a document; files of records keep the whole ones.
        if !matches!(input.format, Format::Jsonl | Format::Csv) {
            return out;
        }
    }
    let decoded = match if input.format == Format::Html {
        decode::decode_html(&bytes, None)
    } else {
        decode::decode(&bytes)
    } {
        Ok(d) => d,
        Err(e) => {
            out.errors.push(ErrorRecord::new(shown, "decode", e.to_string()));
            return out;
        }
    };
    let sidecar = match metadata::sidecar_path(path) {
        Some(sc) => match metadata::read_sidecar(&sc) {
            Ok(m) => Some(m),
            Err(e) => {
                out.errors
                    .push(ErrorRecord::new(sc.display().to_string(), "metadata", format!("{e:#}")));
                None
            }
        },
        None => None,
    };
    let stem = document_stem(path, false);
    let known_authors: Vec<String> = sidecar.as_ref().map(|m| m.authors.clone()).unwrap_or_default();
    let base = ReadDocument {
        path: shown.clone(),
        stem,
        record: None,
        id_hint: None,
        format: input.format,
        encoding: decoded.encoding.to_string(),
        sha256: out.sha256.clone().unwrap_or_default(),
        text: String::new(),
        internal: MetaSource::default(),
        sidecar,
        file_name: metadata::from_file_name(path),
    };
    let mut text = decoded.text.replace("\r\n", "\n").replace('\r', "\n");
    if truncated.is_some() && !text.ends_with('\n') {
        // The record at the break is cut short: it goes, and says so.
        let keep = text.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let cut = text[keep..].chars().take(60).collect::<String>();
        out.errors.push(ErrorRecord::new(
            shown.clone(),
            "parse",
            format!("the last record is cut short by the break in the gzip stream and was left out: {cut:?}..."),
        ));
        text.truncate(keep);
    }
    match input.format {
        Format::Warc => unreachable!("archives are read record by record above"),
        Format::Txt | Format::Markdown => {
            if let Some((line, chars)) = line_over(&text, limits.max_line_chars) {
                out.errors.push(ErrorRecord::new(
                    shown,
                    "limit",
                    line_limit_message(
                        &format!("line {line}"),
                        chars,
                        limits.max_line_chars,
                        "the file was not analysed",
                    ),
                ));
                return out;
            }
            let (front, body) = split_front_matter(&text);
            let mut internal = MetaSource::default();
            if let Some(front) = front {
                match serde_yaml::from_str::<serde_yaml::Value>(front) {
                    Ok(serde_yaml::Value::Mapping(m)) => {
                        let json = serde_json::to_value(&m).unwrap_or(Value::Null);
                        if let Value::Object(o) = json {
                            internal = MetaSource::from_map(o.iter());
                        }
                    }
                    Ok(_) => out.errors.push(ErrorRecord::new(
                        shown.clone(),
                        "metadata",
                        "the front matter between the --- lines is not a YAML mapping of keys to values; it was ignored",
                    )),
                    Err(e) => out.errors.push(ErrorRecord::new(
                        shown.clone(),
                        "metadata",
                        format!("the YAML front matter is malformed ({e}); it was ignored"),
                    )),
                }
            }
            let mut authors = known_authors;
            authors.extend(internal.authors.iter().cloned());
            let raw = blocks::parse_markdown(body);
            let cleaned = blocks::clean_blocks(&raw, rules, true, &authors);
            let doc = finish(base, internal, cleaned, rules.site_publication(&text));
            push_or_error(
                doc,
                &mut out,
                &shown,
                "no text left after removing markup and boilerplate",
            );
        }
        Format::Html => {
            let (internal, cleaned) = read_html_page(&text, rules, &known_authors);
            let doc = finish(base, internal, cleaned, rules.site_publication(&text));
            push_or_error(doc, &mut out, &shown, "the HTML page has no article text (after removing scripts, navigation, headers, footers, asides and forms)");
        }
        Format::Jsonl | Format::Csv => {
            let src = RecordSource {
                base: &base,
                rules,
                known_authors: &known_authors,
                max_line_chars: limits.max_line_chars,
            };
            if input.format == Format::Jsonl {
                read_jsonl(&text, &src, &mut out)
            } else {
                read_csv(&text, &src, &mut out)
            }
        }
    }
    out
}

/// A web page's metadata and clean article text (what `analyze` keeps of an HTML file);
/// `known_authors` are authors stated elsewhere (a sidecar), used to recognise bios.
pub fn read_html_page(text: &str, rules: &Rules, known_authors: &[String]) -> (MetaSource, blocks::Cleaned) {
    let (mut internal, raw) = html::read_html(text, &rules.html);
    let mut authors = known_authors.to_vec();
    authors.extend(internal.authors.iter().cloned());
    let cleaned = blocks::clean_blocks(&raw, rules, false, &authors);
    if internal.title.is_none() {
        internal.title = cleaned.title.clone();
    }
    (internal, cleaned)
}

/// Reads a WARC archive (gzip-compressed or not) record by record without holding it whole:
/// one document per HTML `response` record, with the target URL, the crawl date and the record id
/// as metadata and the record id as the document id; other records are skipped and counted in
/// `skipped_records`; a broken record is an error row and the reader goes on to the next one; a
/// truncated archive keeps the records before the break.
fn read_warc(input: &InputFile, rules: &Rules, limits: &InputLimits, out: &mut FileReading) {
    use std::io::Read;
    let shown = input.path.display().to_string();
    let file = match std::fs::File::open(&input.path) {
        Ok(f) => f,
        Err(e) => {
            out.errors
                .push(ErrorRecord::new(shown, "read", format!("cannot read the file: {e}")));
            return;
        }
    };
    let hashing = HashingReader::new(file);
    let hash = hashing.state();
    let stream: Box<dyn Read> = if input.gzip {
        Box::new(flate2::read::MultiGzDecoder::new(hashing))
    } else {
        Box::new(hashing)
    };
    let warc_limits = warc::WarcLimits {
        max_block: limits.max_decompressed,
        ..Default::default()
    };
    let reader = warc::WarcReader::new(std::io::BufReader::with_capacity(1 << 16, stream), warc_limits);
    let stem = document_stem(&input.path, input.gzip);
    let mut n_record = 0usize;
    for item in reader {
        n_record += 1;
        let (header, offset, block) = match item {
            warc::WarcItem::Record { header, offset, block } => (header, offset, block),
            warc::WarcItem::Broken { offset, reason, .. } => {
                out.errors.push(ErrorRecord::new(
                    shown.clone(),
                    "parse",
                    format!("record {n_record} (byte {offset} of the archive): {reason}"),
                ));
                continue;
            }
        };
        if !header.warc_type.eq_ignore_ascii_case("response") {
            out.skipped_records += 1;
            continue;
        }
        let place = format!("record {n_record} ({})", header.target_uri);
        let response = match warc::parse_http_response(&block, limits.max_decompressed) {
            Ok(r) => r,
            Err(e) => {
                out.errors
                    .push(ErrorRecord::new(shown.clone(), "parse", format!("{place}: {e}")));
                continue;
            }
        };
        if !response.is_html() || !(200..300).contains(&response.status) {
            out.skipped_records += 1;
            continue;
        }
        let decoded = match decode::decode_html(&response.body, response.charset().as_deref()) {
            Ok(d) => d,
            Err(e) => {
                out.errors
                    .push(ErrorRecord::new(shown.clone(), "decode", format!("{place}: {e}")));
                continue;
            }
        };
        let text = decoded.text.replace("\r\n", "\n").replace('\r', "\n");
        let (mut internal, cleaned) = read_html_page(&text, rules, &[]);
        let record_id = header.record_id.trim_matches(['<', '>']).to_string();
        for (k, v) in [
            ("warc_target_uri", header.target_uri.as_str()),
            ("crawl_date", header.date.as_str()),
            ("warc_record_id", record_id.as_str()),
        ] {
            if !v.is_empty() {
                internal.set(k, &Value::String(v.to_string()));
            }
        }
        if internal.url.is_none() && !header.target_uri.is_empty() {
            internal.url = Some(header.target_uri.clone());
        }
        let id_hint = record_id.strip_prefix("urn:uuid:").unwrap_or(&record_id).to_string();
        let doc = ReadDocument {
            path: shown.clone(),
            stem: stem.clone(),
            record: Some(n_record),
            id_hint: (!id_hint.is_empty()).then_some(id_hint),
            format: Format::Warc,
            encoding: decoded.encoding.to_string(),
            sha256: sha256_hex(&block),
            text: String::new(),
            internal: MetaSource::default(),
            sidecar: None,
            file_name: MetaSource::default(),
        };
        let _ = offset;
        let doc = finish(doc, internal, cleaned, rules.site_publication(&text));
        push_or_error(doc, out, &shown, &format!("{place}: the page has no article text"));
    }
    let (sha, bytes) = hash.finish();
    out.sha256 = Some(sha);
    out.bytes = bytes;
}

/// Hashes (sha256) and counts the bytes read through it, for an input read as a stream.
struct HashingReader<R> {
    inner: R,
    state: std::rc::Rc<std::cell::RefCell<(Sha256, u64)>>,
}

struct HashState(std::rc::Rc<std::cell::RefCell<(Sha256, u64)>>);

impl HashState {
    /// The hex sha256 and the byte count of everything read so far.
    fn finish(self) -> (String, u64) {
        let (h, n) = self.0.replace((Sha256::new(), 0));
        (hex::encode(h.finalize()), n)
    }
}

impl<R> HashingReader<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            state: std::rc::Rc::new(std::cell::RefCell::new((Sha256::new(), 0))),
        }
    }
    fn state(&self) -> HashState {
        HashState(self.state.clone())
    }
}

impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut s = self.state.borrow_mut();
        s.0.update(&buf[..n]);
        s.1 += n as u64;
        Ok(n)
    }
}

/// Record ids of an archive's `response` records, read from the headers only (for [`census`]).
fn warc_record_ids(input: &InputFile, limits: &InputLimits) -> Vec<String> {
    let Ok(file) = std::fs::File::open(&input.path) else {
        return Vec::new();
    };
    let stream: Box<dyn std::io::Read> = if input.gzip {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let warc_limits = warc::WarcLimits {
        max_block: limits.max_decompressed,
        ..Default::default()
    };
    warc::WarcReader::new(std::io::BufReader::with_capacity(1 << 16, stream), warc_limits)
        .filter_map(|item| match item {
            warc::WarcItem::Record { header, .. } if header.warc_type.eq_ignore_ascii_case("response") => {
                let id = header.record_id.trim_matches(['<', '>']).to_string();
                Some(id.strip_prefix("urn:uuid:").unwrap_or(&id).to_string())
            }
            _ => None,
        })
        .collect()
}

fn push_or_error(doc: ReadDocument, out: &mut FileReading, shown: &str, why: &str) {
    if doc.text.trim().is_empty() {
        out.errors.push(ErrorRecord::new(shown, "clean", why));
    } else {
        out.documents.push(doc);
    }
}

/// Combines a cleaned page with what the format itself said: the format's own metadata wins over
/// header lines found in the text.
fn finish(
    mut base: ReadDocument,
    mut internal: MetaSource,
    cleaned: blocks::Cleaned,
    site: Option<&str>,
) -> ReadDocument {
    if internal.title.is_none() {
        internal.title = cleaned.title;
    }
    if internal.authors.is_empty() {
        internal.authors = cleaned.authors;
    }
    if internal.date_raw.is_none() {
        internal.date_raw = cleaned.date_raw;
    }
    if internal.publication.is_none() {
        internal.publication = site.map(str::to_string);
    }
    for (k, v) in cleaned.extra {
        internal.extra.entry(k).or_insert(v);
    }
    base.text = cleaned.text;
    base.internal = internal;
    base
}

/// Splits YAML front matter (between `---` lines at the very top) from the body.
fn split_front_matter(text: &str) -> (Option<&str>, &str) {
    let Some(rest) = text.strip_prefix("---\n") else {
        return (None, text);
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let t = line.trim_end();
        if t == "---" || t == "..." {
            return (Some(&rest[..offset]), &rest[offset + line.len()..]);
        }
        offset += line.len();
    }
    (None, text)
}

/// What every record of one JSONL or CSV file shares.
struct RecordSource<'a> {
    base: &'a ReadDocument,
    rules: &'a Rules,
    known_authors: &'a [String],
    max_line_chars: usize,
}

/// A record of a JSONL or CSV file: its fields as JSON values; `place` says where it is ("line 3").
fn record_document(
    src: &RecordSource,
    fields: &serde_json::Map<String, Value>,
    record: usize,
    place: &str,
    raw: &str,
    out: &mut FileReading,
) {
    let RecordSource {
        base,
        rules,
        known_authors,
        ..
    } = *src;
    let shown = base.path.clone();
    let text_key = fields.keys().find(|k| k.trim().eq_ignore_ascii_case("text")).cloned();
    let text = match text_key.as_ref().and_then(|k| fields.get(k)) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => {
            out.errors
                .push(ErrorRecord::new(shown, "parse", format!("{place}: no \"text\" field")));
            return;
        }
        Some(other) => {
            out.errors.push(ErrorRecord::new(
                shown,
                "parse",
                format!("{place}: \"text\" must be a string, found {}", json_kind(other)),
            ));
            return;
        }
    };
    let internal = MetaSource::from_map(fields.iter());
    let id_hint = fields
        .iter()
        .find(|(k, _)| matches!(k.trim().to_lowercase().as_str(), "id" | "doc_id"))
        .and_then(|(_, v)| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    let mut authors = known_authors.to_vec();
    authors.extend(internal.authors.iter().cloned());
    let raw_blocks = blocks::parse_markdown(&text.replace("\r\n", "\n"));
    let cleaned = blocks::clean_blocks(&raw_blocks, rules, true, &authors);
    let mut doc = base.clone();
    doc.record = Some(record);
    doc.id_hint = id_hint;
    doc.sha256 = sha256_hex(raw.as_bytes());
    let doc = finish(doc, internal, cleaned, rules.site_publication(&text));
    push_or_error(
        doc,
        out,
        &shown,
        &format!("{place}: the text is empty after removing markup and boilerplate"),
    );
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn read_jsonl(text: &str, src: &RecordSource, out: &mut FileReading) {
    let shown = src.base.path.clone();
    let mut n_records = 0;
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        n_records += 1;
        if let Some((_, chars)) = line_over(line, src.max_line_chars) {
            out.errors.push(ErrorRecord::new(
                shown.clone(),
                "limit",
                line_limit_message(
                    &format!("line {line_no}"),
                    chars,
                    src.max_line_chars,
                    "the record was not read",
                ),
            ));
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(o)) => record_document(src, &o, line_no, &format!("line {line_no}"), line, out),
            Ok(other) => out.errors.push(ErrorRecord::new(
                shown.clone(),
                "parse",
                format!(
                    "line {line_no}: expected a JSON object with a \"text\" field, found {}",
                    json_kind(&other)
                ),
            )),
            Err(e) => out.errors.push(ErrorRecord::new(
                shown.clone(),
                "parse",
                format!("line {line_no}: invalid JSON ({e})"),
            )),
        }
    }
    if n_records == 0 {
        out.errors
            .push(ErrorRecord::new(shown, "parse", "the JSONL file has no records"));
    }
}

fn read_csv(text: &str, src: &RecordSource, out: &mut FileReading) {
    let shown = src.base.path.clone();
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
        Err(e) => {
            out.errors.push(ErrorRecord::new(
                shown,
                "parse",
                format!("cannot read the CSV header row: {e}"),
            ));
            return;
        }
    };
    if !headers.iter().any(|h| h.eq_ignore_ascii_case("text")) {
        out.errors.push(ErrorRecord::new(
            shown,
            "parse",
            format!(
                "the CSV file needs a \"text\" column (its columns are: {})",
                headers.join(", ")
            ),
        ));
        return;
    }
    let mut n = 0;
    for (i, rec) in rdr.records().enumerate() {
        let record = i + 1;
        n += 1;
        match rec {
            Ok(r)
                if r.as_slice().len() > src.max_line_chars
                    && r.iter().map(|f| f.chars().count()).sum::<usize>() > src.max_line_chars =>
            {
                let chars = r.iter().map(|f| f.chars().count()).sum::<usize>();
                out.errors.push(ErrorRecord::new(
                    shown.clone(),
                    "limit",
                    line_limit_message(
                        &format!("record {record}"),
                        chars,
                        src.max_line_chars,
                        "the record was not read",
                    ),
                ));
            }
            Ok(r) => {
                let mut fields = serde_json::Map::new();
                for (h, v) in headers.iter().zip(r.iter()) {
                    fields.insert(h.clone(), Value::String(v.to_string()));
                }
                let raw = r.iter().collect::<Vec<_>>().join("\u{1f}");
                let place = format!("record {record}");
                record_document(src, &fields, record, &place, &raw, out);
            }
            Err(e) => {
                let line = e
                    .position()
                    .map(|p| format!(" (line {})", p.line()))
                    .unwrap_or_default();
                let why = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("has {len} fields where the header has {expected_len}")
                    }
                    _ => e.to_string(),
                };
                out.errors.push(ErrorRecord::new(
                    shown.clone(),
                    "parse",
                    format!("record {record}{line}: {why}"),
                ));
            }
        }
    }
    if n == 0 {
        out.errors.push(ErrorRecord::new(
            shown,
            "parse",
            "the CSV file has a header but no rows",
        ));
    }
}

/// Characters allowed in a doc_id; others become '-'.
fn sanitize_id(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':') {
                c
            } else {
                '-'
            }
        })
        .collect();
    t.trim_matches('-').to_string()
}

/// The id a document gets unless another document claims the same one: the `id` field of its
/// JSONL/CSV row, else the file stem (with `-RECORD` for rows).
fn base_id(stem: &str, id_hint: Option<&str>, record: Option<usize>) -> String {
    let id = match (id_hint, record) {
        (Some(h), _) => sanitize_id(h),
        (None, Some(r)) => format!("{}-{r}", sanitize_id(stem)),
        (None, None) => sanitize_id(stem),
    };
    if id.is_empty() {
        "document".to_string()
    } else {
        id
    }
}

/// What a cheap first pass over the inputs knows before any document is analysed: how many
/// documents claim each base id (ids must not depend on which chunk a document is read in), and
/// each file's sha256 (for provenance written before the tables are complete).
#[derive(Debug, Default)]
pub struct Census {
    pub id_counts: BTreeMap<String, usize>,
    pub sha256: Vec<Option<String>>,
}

/// Counts base ids and hashes every file. Only JSONL and CSV files are parsed (their rows carry
/// ids); any other file claims the id of its stem, even if it later fails to read, so one bad
/// file never renames the others.
pub fn census(files: &[InputFile], rules: &Rules, limits: &InputLimits) -> Census {
    use rayon::prelude::*;
    let per_file: Vec<(Vec<String>, Option<String>)> = files
        .par_iter()
        .map(|f| match f.format {
            Format::Jsonl | Format::Csv => {
                let r = read_file(f, rules, limits);
                let ids = r
                    .documents
                    .iter()
                    .map(|d| base_id(&d.stem, d.id_hint.as_deref(), d.record))
                    .collect();
                (ids, r.sha256)
            }
            Format::Warc => {
                let ids = warc_record_ids(f, limits)
                    .iter()
                    .map(|id| base_id("", Some(id), None))
                    .collect();
                let sha = sha256_file_streaming(&f.path);
                (ids, sha)
            }
            _ => {
                let stem = document_stem(&f.path, f.gzip);
                let sha = std::fs::read(&f.path).ok().map(|b| sha256_hex(&b));
                (vec![base_id(&stem, None, None)], sha)
            }
        })
        .collect();
    let mut census = Census::default();
    for (ids, sha) in per_file {
        for id in ids {
            *census.id_counts.entry(id).or_default() += 1;
        }
        census.sha256.push(sha);
    }
    census
}

/// Assigns final ids and merges metadata. A base id claimed by more than one document (per
/// `id_counts`, from [`census`]) gets `~` and 8 hex digits of a hash of path and record on every
/// claimant, so no document's id depends on the order of the inputs.
pub fn finalize(read: Vec<ReadDocument>, table: &MetadataTable, id_counts: &BTreeMap<String, usize>) -> Vec<Document> {
    read.into_iter()
        .map(|d| {
            let mut id = base_id(&d.stem, d.id_hint.as_deref(), d.record);
            if id_counts.get(&id).copied().unwrap_or(1) > 1 {
                let key = format!("{}#{}", d.path, d.record.unwrap_or(0));
                id = format!("{id}~{}", &sha256_hex(key.as_bytes())[..8]);
            }
            let table_row = table.lookup(&id, &d.path);
            let mut sources: Vec<&MetaSource> = Vec::new();
            if let Some(r) = table_row {
                sources.push(r);
            }
            if let Some(s) = &d.sidecar {
                sources.push(s);
            }
            sources.push(&d.internal);
            sources.push(&d.file_name);
            let meta = metadata::merge(&sources);
            Document {
                doc_id: id,
                path: d.path,
                record: d.record,
                format: d.format,
                encoding: d.encoding,
                sha256: d.sha256,
                meta,
                text: d.text,
                sentences: Vec::new(),
                tokens: Vec::new(),
                mentions: Vec::new(),
                states: None,
                stances: Vec::new(),
                recommendations: Vec::new(),
            }
        })
        .collect()
}
