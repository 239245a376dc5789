//! Text stage: sentence segmentation and word tokenisation over a document's clean text, with
//! offsets in chars.

mod segment;
mod tokenize;

pub use segment::{segment_sentences, SentenceSegmenter};
pub use tokenize::{tokenize_words, WordTokenizer};

use crate::document::Span;
pub use crate::document::{slice_chars, CharIndex};

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
