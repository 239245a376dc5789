//! Rule-based sentence segmentation for English commentary.
//!
//! Line breaks in clean text are hard boundaries (paragraphs, headings and list items each sit on
//! their own line). Inside a line a sentence ends after `.`, `!`, `?` or an ellipsis, plus any
//! closing quotes or brackets, followed by white space, unless the period belongs to an
//! abbreviation, an initial, or a list number, or the next word starts in lower case.

use crate::document::{Document, Layer, Span};
use crate::pipeline::Component;

/// Abbreviations after which a sentence never ends (titles before names and the like).
const NEVER_FINAL: &[&str] = &[
    "mr", "mrs", "ms", "messrs", "dr", "prof", "gen", "lt", "col", "maj", "capt", "cmdr", "sgt", "adm", "brig", "sen",
    "sens", "rep", "reps", "gov", "pres", "amb", "rev", "hon", "st", "mt", "ft", "vs", "cf", "fig", "figs", "vol",
    "ch", "sec", "art", "approx", "dept", "univ", "assn", "gens", "lieut", "supt", "atty", "sup", "e.g", "i.e", "viz",
];

/// Abbreviations that never end a sentence when a number follows ("No. 5", "Jan. 20", "p. 12").
const BEFORE_NUMBER: &[&str] = &[
    "no", "nos", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "p", "pp",
    "para", "art", "op", "ed", "eds",
];

/// Abbreviations that may end a sentence: they end one only when the next word is a typical
/// sentence opener ("... in the U.S. The talks ..." vs "the U.S. Congress").
const MAYBE_FINAL: &[&str] = &[
    "inc", "ltd", "co", "corp", "etc", "jr", "sr", "bros", "llc", "plc", "a.m", "p.m",
];

/// Words that typically open a sentence; after an ambiguous abbreviation they signal a boundary.
const SENTENCE_OPENERS: &[&str] = &[
    "The",
    "This",
    "That",
    "These",
    "Those",
    "It",
    "Its",
    "He",
    "She",
    "They",
    "We",
    "I",
    "You",
    "But",
    "And",
    "Or",
    "In",
    "On",
    "At",
    "For",
    "If",
    "When",
    "While",
    "As",
    "A",
    "An",
    "So",
    "Yet",
    "There",
    "His",
    "Her",
    "Their",
    "Our",
    "My",
    "What",
    "Why",
    "How",
    "Who",
    "Since",
    "After",
    "Before",
    "Meanwhile",
    "However",
    "Moreover",
    "Indeed",
    "Still",
    "Now",
    "Today",
    "Such",
    "Both",
    "Neither",
    "Nor",
    "Even",
    "Although",
    "Though",
    "Because",
    "Instead",
    "Thus",
    "Then",
    "Yes",
    "No",
    "Not",
    "Many",
    "Most",
    "Some",
    "Few",
    "All",
    "Each",
    "Every",
    "One",
    "Last",
    "Next",
    "Finally",
    "First",
    "Second",
    "Third",
    "Without",
    "With",
    "Under",
    "By",
    "To",
    "From",
    "Over",
    "Given",
    "Regardless",
];

/// Pipeline component: splits `doc.text` into sentences.
pub struct SentenceSegmenter;

impl Component for SentenceSegmenter {
    fn name(&self) -> &'static str {
        "sentences"
    }
    fn reads(&self) -> &'static [Layer] {
        &[Layer::Text]
    }
    fn writes(&self) -> &'static [Layer] {
        &[Layer::Sentences]
    }
    fn process(&self, doc: &mut Document) -> anyhow::Result<()> {
        doc.sentences = segment_sentences(&doc.text);
        Ok(())
    }
}

fn is_closer(c: char) -> bool {
    matches!(c, '"' | '\'' | '”' | '’' | '»' | ')' | ']' | '}' | '*')
}

fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…')
}

/// Sentence spans (char offsets, trimmed of white space) of `text`.
pub fn segment_sentences(text: &str) -> Vec<Span> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line_start = 0;
    for i in 0..=chars.len() {
        if i == chars.len() || chars[i] == '\n' {
            segment_line(&chars, line_start, i, &mut out);
            line_start = i + 1;
        }
    }
    out
}

fn push_trimmed(chars: &[char], mut start: usize, mut end: usize, out: &mut Vec<Span>) {
    while start < end && chars[start].is_whitespace() {
        start += 1;
    }
    while end > start && chars[end - 1].is_whitespace() {
        end -= 1;
    }
    if start < end {
        out.push(Span::new(start, end));
    }
}

fn segment_line(chars: &[char], start: usize, end: usize, out: &mut Vec<Span>) {
    let mut sent_start = start;
    let mut i = start;
    while i < end {
        if !is_terminator(chars[i]) {
            i += 1;
            continue;
        }
        let term_start = i;
        while i < end && (is_terminator(chars[i])) {
            i += 1;
        }
        let term_end = i;
        while i < end && is_closer(chars[i]) {
            i += 1;
        }
        // A boundary needs white space after the punctuation ("3.5", "U.S.A." and "Yahoo!Inc" are not).
        if i < end && !chars[i].is_whitespace() {
            continue;
        }
        let mut next = i;
        while next < end && chars[next].is_whitespace() {
            next += 1;
        }
        if next >= end {
            break; // the line's end closes the sentence anyway
        }
        if is_boundary(chars, start, term_start, term_end, next, end) {
            push_trimmed(chars, sent_start, i, out);
            sent_start = next;
        }
        i = next;
    }
    push_trimmed(chars, sent_start, end, out);
}

/// The word ending right before `pos` (letters, digits, dots, apostrophes, hyphens).
fn word_before(chars: &[char], line_start: usize, pos: usize) -> (usize, String) {
    let mut s = pos;
    while s > line_start {
        let c = chars[s - 1];
        if c.is_alphanumeric() || c == '.' || c == '\'' || c == '’' || c == '-' {
            s -= 1;
        } else {
            break;
        }
    }
    (s, chars[s..pos].iter().collect())
}

/// The word starting at `pos`, without leading quotes or brackets.
fn word_after(chars: &[char], pos: usize, end: usize) -> String {
    let mut s = pos;
    while s < end && matches!(chars[s], '"' | '\'' | '“' | '‘' | '(' | '[') {
        s += 1;
    }
    chars[s..end].iter().take_while(|c| c.is_alphanumeric()).collect()
}

fn is_boundary(chars: &[char], line_start: usize, term_start: usize, term_end: usize, next: usize, end: usize) -> bool {
    let next_char = chars[next];
    let next_is_lower = next_char.is_lowercase();
    let term: String = chars[term_start..term_end].iter().collect();
    if term != "." {
        // "?", "!", "?!", "..." and "…": a boundary unless the sentence carries on in lower case.
        return !next_is_lower;
    }
    if next_is_lower {
        return false;
    }
    let (word_start, word) = word_before(chars, line_start, term_start);
    let next_word = word_after(chars, next, end);
    let next_is_digit = next_char.is_ascii_digit();
    if word.is_empty() {
        return true;
    }
    let lower = word.to_lowercase();
    let bare = lower.trim_end_matches('.');
    // A list number at the start of a line: "1. Sanctions".
    if word_start == line_start && word.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    // An initial: "George W. Bush", "J. Robert Oppenheimer".
    if word.chars().count() == 1 && word.chars().all(|c| c.is_uppercase()) {
        return false;
    }
    if NEVER_FINAL.contains(&bare) {
        return false;
    }
    if BEFORE_NUMBER.contains(&bare) && next_is_digit {
        return false;
    }
    // Dotted abbreviations (U.S., U.N., D.C.) and company suffixes end a sentence only before
    // a typical sentence opener.
    let dotted = bare.contains('.') && bare.split('.').all(|p| p.chars().count() <= 2);
    if dotted || MAYBE_FINAL.contains(&bare) {
        return SENTENCE_OPENERS.contains(&next_word.as_str());
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sents(text: &str) -> Vec<String> {
        segment_sentences(text)
            .into_iter()
            .map(|s| crate::text::slice_chars(text, s).to_string())
            .collect()
    }

    #[test]
    fn abbreviations_initials_and_decimals() {
        let t = "Mr. Obama met Gen. Petraeus in Washington, D.C. on Jan. 20. George W. Bush spoke of 3.5 percent growth. The U.S. Congress agreed.";
        assert_eq!(
            sents(t),
            vec![
                "Mr. Obama met Gen. Petraeus in Washington, D.C. on Jan. 20.",
                "George W. Bush spoke of 3.5 percent growth.",
                "The U.S. Congress agreed."
            ]
        );
    }

    #[test]
    fn dotted_abbreviation_at_sentence_end() {
        assert_eq!(
            sents("It is a guarantee from the U.S. The talks go on."),
            vec!["It is a guarantee from the U.S.", "The talks go on."]
        );
    }

    #[test]
    fn quotes_parentheses_and_ellipses() {
        let t = "He said, \"We will not yield.\" Then he left. (The talks ended.) \"Why?\" she asked. Wait... what? It ended… Then silence.";
        assert_eq!(
            sents(t),
            vec![
                "He said, \"We will not yield.\"",
                "Then he left.",
                "(The talks ended.)",
                "\"Why?\" she asked.",
                "Wait... what?",
                "It ended…",
                "Then silence."
            ]
        );
    }

    #[test]
    fn lines_are_hard_boundaries_and_list_numbers_are_not() {
        let t = "## Heading without a period\n\n1. First item of the list\n2. Second item. It has two sentences\n- e.g. a bullet";
        assert_eq!(
            sents(t),
            vec![
                "## Heading without a period",
                "1. First item of the list",
                "2. Second item.",
                "It has two sentences",
                "- e.g. a bullet"
            ]
        );
    }

    #[test]
    fn offsets_are_chars_not_bytes() {
        let t = "Khamenei – Iran’s leader – spoke. Rouhani listened.";
        let s = segment_sentences(t);
        assert_eq!(s[1], Span::new(34, 51));
        assert_eq!(crate::text::slice_chars(t, s[1]), "Rouhani listened.");
    }
}
