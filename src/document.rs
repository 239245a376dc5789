//! The [`Document`]: what every stage reads and writes. Offsets are in Unicode scalar values
//! (chars) into `text`, the document's clean text, which is itself written to the `texts` table so
//! every offset can be checked against it.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};
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
    pub mentions: Vec<Mention>,
    /// Frozen-layer encoder states of sentences, shared by the model stages; never written out.
    pub states: Option<SentenceStates>,
    /// The author's stance toward each target.
    pub stances: Vec<DocumentStance>,
    pub recommendations: Vec<Recommendation>,
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
        slice_chars(&self.text, span)
    }

    /// The text of every token, in order, in one pass (slicing token by token with
    /// [`Document::slice`] is linear per call on non-ASCII text).
    pub fn token_texts(&self) -> Vec<&str> {
        let index = CharIndex::new(&self.text);
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

/// Byte offset of every char boundary, so char spans can be sliced cheaply.
/// Pure-ASCII text (most English commentary) needs no table at all.
pub struct CharIndex {
    byte_of_char: Option<Vec<usize>>,
    len_bytes: usize,
}

impl CharIndex {
    pub fn new(text: &str) -> Self {
        let byte_of_char = if text.is_ascii() {
            None
        } else {
            Some(text.char_indices().map(|(b, _)| b).collect())
        };
        Self {
            byte_of_char,
            len_bytes: text.len(),
        }
    }

    /// The byte offset of char offset `c` (`c` may equal the number of chars).
    pub fn byte(&self, c: usize) -> usize {
        match &self.byte_of_char {
            None => c,
            Some(v) => v.get(c).copied().unwrap_or(self.len_bytes),
        }
    }

    /// The char offset of byte offset `b`, which must be on a char boundary.
    pub fn char_of_byte(&self, b: usize) -> usize {
        match &self.byte_of_char {
            None => b,
            Some(v) => v.partition_point(|&x| x < b),
        }
    }
}

/// Slice `text` by a char span. Linear in the span's start for non-ASCII text; use [`CharIndex`]
/// when slicing many spans.
pub fn slice_chars(text: &str, span: Span) -> &str {
    if text.is_ascii() {
        return &text[span.start..span.end];
    }
    let mut it = text.char_indices().map(|(b, _)| b).chain(std::iter::once(text.len()));
    let start = it.nth(span.start).unwrap_or(text.len());
    let end = if span.end == span.start {
        start
    } else {
        it.nth(span.end - span.start - 1).unwrap_or(text.len())
    };
    &text[start..end]
}

// The layers the stages write: their types live here, at the bottom, so that the document imports
// no stage; each stage re-exports its own (`entities::link::Mention`, ...) and keeps their methods.

/// One mention in a document's clean text.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub sent_id: usize,
    /// Token indices into `doc.tokens`, `[token_start, token_end)`.
    pub token_start: usize,
    pub token_end: usize,
    /// Char offsets into the clean text.
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub label: String,
    pub entity_id: String,
    pub entity_name: String,
    /// `model`, `kb` or `coref`.
    pub source: &'static str,
    pub score: f32,
    /// Linked through a demonym ("Iranian" for Iran); such mentions keep the label MISC.
    pub demonym: bool,
}

/// Shared states of a document's sentences: for each sentence, one `[n_subwords, hidden]` tensor
/// per window (special tokens removed; most sentences fit one window). Computed once by the
/// first model stage that runs the encoder and read by the later ones.
#[derive(Debug, Clone)]
pub struct SentenceStates {
    /// The [`StateSource::id`] that produced them.
    pub source: String,
    pub sentences: Vec<Option<Vec<Tensor>>>,
}

/// The author's stance toward one target in one document.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentStance {
    /// The configured target's id, or `entity:ENTITY_ID` for an actor mentioned in the document.
    pub target: String,
    pub target_name: String,
    /// `config` (from targets.toml) or `entity`.
    pub kind: &'static str,
    pub stance: Stance,
    /// Mean over evidence sentences of P(favor) - P(against), in [-1, 1].
    pub score: f32,
    /// Sentences that name the target.
    pub n_sentences: usize,
    /// The sentences whose own stance is the document's (for neutral: every sentence scored).
    pub evidence: Vec<usize>,
    /// What decided: `recommendations` (the author's own recommendations on the target's
    /// instrument) or `model` (the stance model's sentence scores).
    pub basis: &'static str,
    /// The document-level features the decision was made from (see [`crate::stance::aggregate::features`]);
    /// kept for training the aggregator, never written out.
    pub features: Vec<f32>,
}

/// The author's stance toward a target. Class indices are the model's output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stance {
    Against = 0,
    Favor = 1,
    Neutral = 2,
}

/// One recommendation: who should do what, how strongly, with which instrument.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    pub sent_id: usize,
    /// Char offsets of the recommendation (actor through action) in the clean text.
    pub start: usize,
    pub end: usize,
    /// Who should act, with pronouns resolved; empty when the sentence names no one
    /// ("it is time to ...", passives without an agent).
    pub actor: String,
    /// The actor as written ("they").
    pub actor_raw: String,
    pub actor_id: String,
    /// The cue as written, with a stacked modal and negation ("would have to", "must not").
    pub modality: String,
    pub strength: Strength,
    pub polarity: Polarity,
    pub action: String,
    pub target: String,
    pub target_id: String,
    /// Instrument id (see `data/recommend/instruments.toml`), "other" when none is named.
    pub instrument: String,
    /// Every instrument named in the recommendation's clause, in order.
    pub instruments: Vec<String>,
    pub hedged: bool,
    /// "author", or the person quoted.
    pub speaker: String,
    /// How sure the rules are, from the cue's strength (and hedging).
    pub rule_score: f32,
    /// The classifier's probability that the sentence prescribes action, else `rule_score`.
    pub score: f32,
    /// Where the cue looks for its actor (a feature for the classifier; not written out).
    pub cue_kind: CueKind,
    /// The document token the cue starts at (its contextual state is a classifier feature).
    pub cue_token: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    Strong,
    Moderate,
    Weak,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Polarity {
    Act,
    Refrain,
}

/// Where the actor of a cue is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CueKind {
    /// The actor precedes the cue: "the US must ...".
    Modal,
    /// No actor in the cue's clause: "it is time to ...".
    Impersonal,
    /// The actor follows: "we call on Europe to ...".
    Appeal,
    /// An imperative at the opening of a sentence or clause ("Pass the bill.", "Do not turn these
    /// men into martyrs."): the addressee acts; the cue is the verb itself unless it is a marker
    /// ("do not", "let").
    Imperative,
    /// A judgement on an action named before the cue ("Limiting them would be advantageous",
    /// "That would be a mistake", "Constant vigilance is required"): the subject is the action.
    Judgement,
}

#[cfg(test)]
mod floor {
    /// The document is the bottom floor: it names no stage of the pipeline in its code (doc
    /// comments may point up).
    #[test]
    fn the_document_imports_no_stage() {
        let source = include_str!("document.rs");
        let code: Vec<&str> = source[..source.find("#[cfg(test)]\nmod floor").expect("this test module")]
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect();
        let offending: Vec<&&str> = code
            .iter()
            .filter(|l| l.contains("crate::") || l.contains("super::"))
            .collect();
        assert!(offending.is_empty(), "{offending:?}");
    }
}
