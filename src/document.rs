//! The [`Document`]: what every stage reads and writes. Offsets are in Unicode scalar values
//! (chars) into `text`, the document's clean text, which is itself written to the `texts` table so
//! every offset can be checked against it.

use std::collections::BTreeMap;

/// Input formats rhetor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Txt,
    Markdown,
    Html,
    Jsonl,
    Csv,
    /// A web archive: one document per HTML response record.
    Warc,
}

impl Format {
    /// The format for a file extension (lower-case, without the dot).
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "txt" | "text" => Some(Self::Txt),
            "md" | "markdown" => Some(Self::Markdown),
            "html" | "htm" | "xhtml" => Some(Self::Html),
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            "csv" => Some(Self::Csv),
            "warc" => Some(Self::Warc),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Txt => "txt",
            Self::Markdown => "markdown",
            Self::Html => "html",
            Self::Jsonl => "jsonl",
            Self::Csv => "csv",
            Self::Warc => "warc",
        }
    }
}

/// Bibliographic metadata of one document after all sources have been merged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    pub title: Option<String>,
    pub authors: Vec<String>,
    /// ISO 8601, possibly partial: `2012-05-14`, `2012-05` or `2012`.
    pub date: Option<String>,
    /// The date exactly as the winning source wrote it.
    pub date_raw: Option<String>,
    pub publication: Option<String>,
    pub url: Option<String>,
    /// Any other metadata keys (from sidecars, front matter, JSONL/CSV columns), kept as strings.
    pub extra: BTreeMap<String, String>,
}

/// A half-open span `[start, end)` of chars in the clean text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        debug_assert!(start <= end);
        Self { start, end }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn contains(&self, other: &Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

/// A word or punctuation token, with the sentence it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub span: Span,
    pub sent_id: usize,
    /// True when the token contains a letter or digit (it counts as a word).
    pub is_word: bool,
}

/// The layers a document carries; pipeline components declare which they read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    Text,
    Sentences,
    Tokens,
    Mentions,
    /// Frozen-layer encoder states of sentences (transient: dropped when the pipeline ends).
    States,
    Stances,
    Recommendations,
}

/// One document flowing through the pipeline.
#[derive(Debug, Clone)]
pub struct Document {
    /// Stable across runs: derived from the file name (or the `id` field of a JSONL/CSV row).
    pub doc_id: String,
    /// The input path, as given or found under a given directory.
    pub path: String,
    /// 1-based line (JSONL) or record (CSV) number inside `path`, for multi-document files.
    pub record: Option<usize>,
    pub format: Format,
    /// The text encoding the file was decoded from.
    pub encoding: String,
    /// sha256 of the input bytes (of the whole file; for JSONL/CSV rows, of the row's raw text).
    pub sha256: String,
    pub meta: Metadata,
    /// Clean text: markup, links and boilerplate removed; paragraphs separated by a blank line.
    pub text: String,
    pub sentences: Vec<Span>,
    pub tokens: Vec<Token>,
    /// Entity mentions, linked (see `entities::link`).
    pub mentions: Vec<crate::entities::link::Mention>,
    /// Frozen-layer encoder states of sentences, shared by the model stages; never written out.
    pub states: Option<crate::model::encoder::SentenceStates>,
    /// The author's stance toward each target.
    pub stances: Vec<crate::stance::DocumentStance>,
    pub recommendations: Vec<crate::recommend::rules::Recommendation>,
}

impl Document {
    /// A plain-text document built in memory (a labelled set's article), with no file behind it:
    /// `id` is its id and path; nothing is analysed yet.
    pub fn from_text(id: &str, text: String) -> Self {
        Document {
            doc_id: id.to_string(),
            path: id.to_string(),
            record: None,
            format: Format::Txt,
            encoding: "UTF-8".into(),
            sha256: String::new(),
            meta: Metadata::default(),
            text,
            sentences: Vec::new(),
            tokens: Vec::new(),
            mentions: Vec::new(),
            states: None,
            stances: Vec::new(),
            recommendations: Vec::new(),
        }
    }

    /// Number of word tokens (tokens containing a letter or digit).
    pub fn n_words(&self) -> usize {
        self.tokens.iter().filter(|t| t.is_word).count()
    }

    /// The clean text of a char span.
    pub fn slice(&self, span: Span) -> &str {
        crate::text::slice_chars(&self.text, span)
    }

    /// The text of every token, in order, in one pass (slicing token by token with
    /// [`Document::slice`] is linear per call on non-ASCII text).
    pub fn token_texts(&self) -> Vec<&str> {
        let index = crate::text::CharIndex::new(&self.text);
        self.tokens
            .iter()
            .map(|t| &self.text[index.byte(t.span.start)..index.byte(t.span.end)])
            .collect()
    }
}

/// What the `documents` table needs of a document once its heavy layers have been written and
/// dropped: identity, metadata and counts.
#[derive(Debug, Clone)]
pub struct DocumentSummary {
    pub doc_id: String,
    pub path: String,
    pub format: Format,
    pub encoding: String,
    pub sha256: String,
    pub meta: Metadata,
    pub n_sentences: usize,
    pub n_words: usize,
}

impl From<&Document> for DocumentSummary {
    fn from(d: &Document) -> Self {
        Self {
            doc_id: d.doc_id.clone(),
            path: d.path.clone(),
            format: d.format,
            encoding: d.encoding.clone(),
            sha256: d.sha256.clone(),
            meta: d.meta.clone(),
            n_sentences: d.sentences.len(),
            n_words: d.n_words(),
        }
    }
}
