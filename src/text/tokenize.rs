//! Word tokenisation inside sentences: words (with internal hyphens, dotted abbreviations,
//! numbers with separators) and punctuation; English clitics (`'s`, `n't`) split off.

use crate::document::{Document, Layer, Span, Token};
use crate::pipeline::Component;

/// Abbreviations whose final period belongs to the word token.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "gen", "lt", "col", "maj", "capt", "sgt", "adm", "sen", "rep", "gov", "amb",
    "rev", "st", "jr", "sr", "inc", "ltd", "co", "corp", "vs", "etc", "no", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "fig", "vol",
];

const CLITICS: &[&str] = &["s", "re", "ve", "ll", "d", "m"];

/// Pipeline component: word tokens for every sentence.
pub struct WordTokenizer;

impl Component for WordTokenizer {
    fn name(&self) -> &'static str {
        "tokens"
    }
    fn reads(&self) -> &'static [Layer] {
        &[Layer::Text, Layer::Sentences]
    }
    fn writes(&self) -> &'static [Layer] {
        &[Layer::Tokens]
    }
    fn process(&self, doc: &mut Document) -> anyhow::Result<()> {
        doc.tokens = tokenize_words(&doc.text, &doc.sentences);
        Ok(())
    }
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '’'
}

/// Tokens of every sentence span, in order, with char offsets into `text`.
pub fn tokenize_words(text: &str, sentences: &[Span]) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    for (sent_id, s) in sentences.iter().enumerate() {
        tokenize_span(&chars, s.start, s.end, sent_id, &mut out);
    }
    out
}

fn tokenize_span(chars: &[char], start: usize, end: usize, sent_id: usize, out: &mut Vec<Token>) {
    let mut i = start;
    let push = |out: &mut Vec<Token>, s: usize, e: usize, clitic: bool| {
        // A clitic ("'s", "n't") is part of the word before it, so it does not count as a word.
        let is_word = !clitic && chars[s..e].iter().any(|c| c.is_alphanumeric());
        out.push(Token {
            span: Span::new(s, e),
            sent_id,
            is_word,
        });
    };
    while i < end {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_alphanumeric() {
            let s = i;
            i = scan_word(chars, i, end);
            // Split off clitics: "Iran's" -> "Iran" "'s"; "don't" -> "do" "n't".
            let word_end = i;
            let mut split = None;
            for k in s + 1..word_end {
                if is_apostrophe(chars[k]) {
                    let rest: String = chars[k + 1..word_end].iter().collect::<String>().to_lowercase();
                    if CLITICS.contains(&rest.as_str()) {
                        split = Some(k);
                    } else if rest == "t" && k > s + 1 && chars[k - 1].eq_ignore_ascii_case(&'n') {
                        split = Some(k - 1);
                    }
                }
            }
            match split {
                Some(k) if k > s => {
                    push(out, s, k, false);
                    push(out, k, word_end, true);
                }
                _ => push(out, s, word_end, false),
            }
            continue;
        }
        // Punctuation: runs of the same char ("...", "--") form one token.
        let s = i;
        i += 1;
        while i < end && chars[i] == c && !c.is_alphanumeric() {
            i += 1;
        }
        push(out, s, i, false);
    }
}

/// End of the word starting at `i`.
fn scan_word(chars: &[char], mut i: usize, end: usize) -> usize {
    let start = i;
    loop {
        while i < end && chars[i].is_alphanumeric() {
            i += 1;
        }
        if i + 1 < end {
            let (p, n) = (chars[i], chars[i + 1]);
            let prev = chars[i - 1];
            let joins = match p {
                '-' => n.is_alphanumeric(),
                '\'' | '’' => n.is_alphabetic(),
                '.' | ',' | '+' | '/' => prev.is_ascii_digit() && n.is_ascii_digit(),
                _ => false,
            };
            // U.S.A: single letters joined by dots.
            let dotted = p == '.'
                && is_single_letter_run(chars, start, i)
                && n.is_alphabetic()
                && i + 2 < end
                && chars[i + 2] == '.';
            if joins || dotted {
                i += 1;
                continue;
            }
        }
        break;
    }
    // Keep the final period of dotted abbreviations ("U.S.") and known abbreviations ("Gen.").
    if i < end && chars[i] == '.' {
        let word: String = chars[start..i].iter().collect::<String>().to_lowercase();
        let dotted = word.contains('.') && word.split('.').all(|p| p.chars().count() == 1);
        if dotted
            || ABBREVIATIONS.contains(&word.as_str())
            || (word.chars().count() == 1 && chars[start].is_uppercase())
        {
            return i + 1;
        }
    }
    i
}

/// True when chars[start..i] is letters separated by single dots, each part one letter ("U", "U.S").
fn is_single_letter_run(chars: &[char], start: usize, i: usize) -> bool {
    chars[start..i]
        .split(|&c| c == '.')
        .all(|p| p.len() == 1 && p[0].is_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::segment_sentences;

    fn toks(text: &str) -> Vec<String> {
        let s = segment_sentences(text);
        tokenize_words(text, &s)
            .iter()
            .map(|t| crate::text::slice_chars(text, t.span).to_string())
            .collect()
    }

    #[test]
    fn words_abbreviations_numbers_clitics() {
        assert_eq!(
            toks("The U.S. and Iran's P5+1 talks don't cost $1,000.50 - a dual-track policy."),
            vec![
                "The",
                "U.S.",
                "and",
                "Iran",
                "'s",
                "P5+1",
                "talks",
                "do",
                "n't",
                "cost",
                "$",
                "1,000.50",
                "-",
                "a",
                "dual-track",
                "policy",
                "."
            ]
        );
    }

    #[test]
    fn initials_and_titles_keep_their_period() {
        assert_eq!(
            toks("Gen. George W. Bush spoke..."),
            vec!["Gen.", "George", "W.", "Bush", "spoke", "..."]
        );
    }
}
