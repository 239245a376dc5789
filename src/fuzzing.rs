//! Entry points for the fuzz targets (`fuzz/`) and the property tests: each reads arbitrary bytes
//! the way `analyze` reads a file and checks what every reader promises, panicking when a promise
//! is broken (libFuzzer reports a panic as a crash):
//! - a reader never panics, and bad input becomes error rows that name the file and the reason;
//! - every document has text, and reading the same bytes twice gives the same documents;
//! - sentences are ordered, disjoint, non-empty, inside the text and never across a paragraph
//!   break; tokens are ordered, non-empty and inside their sentence; every offset slices the
//!   clean text on character boundaries.

use crate::corpus::metadata::{self, MetadataTable};
use crate::corpus::rules::Rules;
use crate::corpus::{self, decode, InputFile, InputLimits};
use crate::document::Format;
use crate::document::Span;
use crate::text::{segment_sentences, tokenize_words, CharIndex};
use std::path::PathBuf;
use std::sync::LazyLock;

static RULES: LazyLock<Rules> = LazyLock::new(Rules::defaults);

/// A folder of this process's own for the files the readers are given (in memory when the
/// machine has `/dev/shm`).
fn scratch() -> PathBuf {
    static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("rhetor-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the fuzzing scratch folder");
        dir
    });
    DIR.clone()
}

/// Reads `data` as a file called `name` (its extensions choose the reader: `a.html`,
/// `a.jsonl.gz`, `a.warc`, ...) and checks the readers' promises on what comes out.
pub fn read_as(name: &str, data: &[u8]) {
    let path = scratch().join(name);
    std::fs::write(&path, data).expect("write the fuzz input");
    let (files, errors) = corpus::discover(&[path.display().to_string()]);
    assert!(errors.is_empty(), "{name}: discovery failed: {errors:?}");
    assert_eq!(files.len(), 1, "{name}: one input file");
    let input: &InputFile = &files[0];
    let limits = InputLimits::default();
    let first = corpus::read_file(input, &RULES, &limits);
    for e in &first.errors {
        assert!(
            !e.path.is_empty() && !e.message.is_empty(),
            "{name}: an error row without its file or reason: {e:?}"
        );
    }
    for d in &first.documents {
        assert!(!d.text.trim().is_empty(), "{name}: a document without text");
        check_text(&d.text);
    }
    if input.format != Format::Warc || data.len() < 1 << 16 {
        let again = corpus::read_file(input, &RULES, &limits);
        let texts = |r: &corpus::FileReading| r.documents.iter().map(|d| d.text.clone()).collect::<Vec<_>>();
        assert_eq!(
            texts(&first),
            texts(&again),
            "{name}: the same bytes read twice gave different texts"
        );
        assert_eq!(
            first.errors.len(),
            again.errors.len(),
            "{name}: the same bytes read twice gave different errors"
        );
    }
}

/// Sentences and tokens of any text keep their promises (see the module's comment).
pub fn check_text(text: &str) {
    let n_chars = text.chars().count();
    let index = CharIndex::new(text);
    let slice = |s: Span| {
        let (a, b) = (index.byte(s.start), index.byte(s.end));
        assert!(
            text.is_char_boundary(a) && text.is_char_boundary(b),
            "a span off character boundaries"
        );
        &text[a..b]
    };
    let sentences = segment_sentences(text);
    let mut prev_end = 0;
    for s in &sentences {
        assert!(s.start < s.end, "an empty sentence {s:?}");
        assert!(s.start >= prev_end, "sentences overlap or are out of order at {s:?}");
        assert!(
            s.end <= n_chars,
            "a sentence past the end of the text: {s:?} of {n_chars}"
        );
        let t = slice(*s);
        assert!(!t.trim().is_empty(), "a blank sentence {s:?}");
        assert!(!t.contains("\n\n"), "a sentence across a paragraph break: {t:?}");
        prev_end = s.end;
    }
    let tokens = tokenize_words(text, &sentences);
    let mut prev: Option<(usize, usize)> = None;
    for t in &tokens {
        let s = sentences.get(t.sent_id).expect("a token's sentence exists");
        assert!(
            t.span.start < t.span.end && t.span.start >= s.start && t.span.end <= s.end,
            "a token {:?} outside its sentence {s:?}",
            t.span
        );
        if let Some((sent, end)) = prev {
            assert!(t.sent_id >= sent, "tokens out of sentence order");
            assert!(
                t.span.start >= end,
                "tokens overlap or are out of order at {:?}",
                t.span
            );
        }
        assert!(!slice(t.span).trim().is_empty(), "a blank token at {:?}", t.span);
        prev = Some((t.sent_id, t.span.end));
    }
}

/// A metadata sidecar (`a.meta.json`).
pub fn sidecar(data: &[u8]) {
    let path = scratch().join("a.meta.json");
    std::fs::write(&path, data).expect("write the fuzz input");
    if let Ok(m) = metadata::read_sidecar(&path) {
        let _ = metadata::merge(&[&m]);
    }
}

/// A `--metadata` table (CSV or JSONL by extension).
pub fn metadata_table(name: &str, data: &[u8]) {
    let path = scratch().join(name);
    std::fs::write(&path, data).expect("write the fuzz input");
    if let Ok(t) = MetadataTable::load(&path) {
        let _ = t.lookup("a", "a.txt");
    }
}

/// Encoding detection: decoded text is always valid and never empty when it succeeds.
pub fn decoding(data: &[u8]) {
    for d in [decode::decode(data), decode::decode_html(data, None)]
        .into_iter()
        .flatten()
    {
        assert!(!d.encoding.is_empty());
        check_text(&d.text);
    }
}

/// Date parsing: a normalised date is `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
pub fn dates(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Some(d) = metadata::normalize_date(s) {
        let ok = d.len() >= 4
            && d.split('-')
                .enumerate()
                .all(|(i, p)| p.chars().all(|c| c.is_ascii_digit()) && p.len() == if i == 0 { 4 } else { 2 })
            && d.split('-').count() <= 3;
        assert!(ok, "{s:?} normalised to {d:?}");
    }
}

/// Segmentation and tokenisation of any text.
pub fn segmentation(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        check_text(s);
    }
}
