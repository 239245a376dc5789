//! Text stage: sentence segmentation and word tokenisation over a document's clean text, with
//! offsets in chars.

mod segment;
mod tokenize;

pub use segment::{segment_sentences, SentenceSegmenter};
pub use tokenize::{tokenize_words, WordTokenizer};

use crate::document::Span;

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

/// The word tokens of a text taken as one sentence, as `analyze` tokenises (for models that read
/// texts given as strings: stance targets, training data).
pub fn words_of(text: &str) -> Vec<&str> {
    let span = Span::new(0, text.chars().count());
    let index = CharIndex::new(text);
    tokenize_words(text, &[span])
        .iter()
        .map(|t| &text[index.byte(t.span.start)..index.byte(t.span.end)])
        .collect()
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
