//! The data behind the rule layer: recommendation cues (`data/recommend/cues.toml`) and the policy
//! instrument taxonomy (`data/recommend/instruments.toml`), both extendable by users.

pub use crate::document::{CueKind, Polarity, Strength};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

const DEFAULT_CUES: &str = include_str!("../../data/recommend/cues.toml");
const DEFAULT_INSTRUMENTS: &str = include_str!("../../data/recommend/instruments.toml");

impl Strength {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strong => "strong",
            Self::Moderate => "moderate",
            Self::Weak => "weak",
        }
    }
}

impl Polarity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Act => "act",
            Self::Refrain => "refrain",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Cue {
    pub phrase: String,
    pub strength: Strength,
    pub polarity: Polarity,
    pub kind: CueKind,
    /// Lower-case words of the phrase; "{be}" matches any form of "be".
    #[serde(skip)]
    pub words: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Instrument {
    pub id: String,
    pub name: String,
    pub cues: Vec<String>,
    #[serde(skip)]
    pub patterns: Vec<Pattern>,
}

/// A cue phrase as lower-case words; the last may end with `*` (any ending).
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub words: Vec<String>,
    pub prefix_last: bool,
}

impl Pattern {
    pub fn parse(phrase: &str) -> Self {
        let mut words: Vec<String> = split_words(&phrase.to_lowercase());
        let mut prefix_last = false;
        if let Some(last) = words.last_mut() {
            if let Some(stem) = last.strip_suffix('*') {
                *last = stem.to_string();
                prefix_last = true;
            }
        }
        Self { words, prefix_last }
    }

    /// Does the pattern match `words` (lower-case) starting at `i`? Returns its length.
    pub fn match_at(&self, words: &[String], i: usize) -> Option<usize> {
        let n = self.words.len();
        if n == 0 || i + n > words.len() {
            return None;
        }
        for (k, w) in self.words.iter().enumerate() {
            let t = &words[i + k];
            let ok = if k == n - 1 && self.prefix_last {
                t.starts_with(w.as_str())
            } else {
                t == w
            };
            if !ok {
                return None;
            }
        }
        Some(n)
    }
}

/// Splits a phrase the way the tokenizer splits text: words, and punctuation on its own
/// (hyphenated words stay whole).
pub fn split_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in s.split_whitespace() {
        let mut cur = String::new();
        for c in part.chars() {
            if c.is_alphanumeric() || c == '-' || c == '*' || c == '{' || c == '}' || c == '.' && !cur.is_empty() {
                cur.push(c);
            } else {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(c.to_string());
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
    }
    out
}

#[derive(Deserialize)]
struct CueFile {
    #[serde(default)]
    cue: Vec<Cue>,
}

#[derive(Deserialize)]
struct InstrumentFile {
    #[serde(default)]
    instrument: Vec<Instrument>,
}

/// Cues and instruments, with the files they came from (for provenance).
#[derive(Debug, Clone)]
pub struct Lexicon {
    pub cues: Vec<Cue>,
    pub instruments: Vec<Instrument>,
    pub sources: Vec<String>,
}

impl Lexicon {
    /// The bundled cues and instruments, extended by `extra_cues` and `extra_instruments`.
    pub fn load(extra_cues: &[PathBuf], extra_instruments: &[PathBuf]) -> Result<Self> {
        let mut cues = parse_cues(DEFAULT_CUES, "data/recommend/cues.toml (built in)")?;
        let mut instruments = parse_instruments(DEFAULT_INSTRUMENTS, "data/recommend/instruments.toml (built in)")?;
        let mut sources = vec![
            "data/recommend/cues.toml (built in)".to_string(),
            "data/recommend/instruments.toml (built in)".to_string(),
        ];
        for p in extra_cues {
            let user = parse_cues(&read(p)?, &p.display().to_string())?;
            for c in user {
                cues.retain(|x| x.phrase.to_lowercase() != c.phrase.to_lowercase());
                cues.push(c);
            }
            sources.push(p.display().to_string());
        }
        for p in extra_instruments {
            for ins in parse_instruments(&read(p)?, &p.display().to_string())? {
                match instruments.iter_mut().find(|x| x.id == ins.id) {
                    Some(x) => *x = ins,
                    None => instruments.push(ins),
                }
            }
            sources.push(p.display().to_string());
        }
        // Longer cues first, so "it is time to" is tried before a shorter cue inside it.
        cues.sort_by_key(|c| std::cmp::Reverse(c.words.len()));
        Ok(Self {
            cues,
            instruments,
            sources,
        })
    }

    /// The instruments whose cues occur in `words`, in order of first occurrence (longest match
    /// at each position wins). Returns (instrument index, word position).
    pub fn instruments_in(&self, words: &[String]) -> Vec<(usize, usize)> {
        let mut found: Vec<(usize, usize)> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let mut best: Option<(usize, usize)> = None; // (length, instrument)
            for (k, ins) in self.instruments.iter().enumerate() {
                for p in &ins.patterns {
                    if let Some(n) = p.match_at(words, i) {
                        if best.is_none_or(|(bn, _)| n > bn) {
                            best = Some((n, k));
                        }
                    }
                }
            }
            match best {
                Some((n, k)) => {
                    if !found.iter().any(|&(f, _)| f == k) {
                        found.push((k, i));
                    }
                    i += n;
                }
                None => i += 1,
            }
        }
        found
    }
}

fn read(p: &Path) -> Result<String> {
    std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
}

fn parse_cues(text: &str, source: &str) -> Result<Vec<Cue>> {
    let file: CueFile = toml::from_str(text).with_context(|| format!("{source}: not a cue file"))?;
    let mut out = Vec::new();
    for mut c in file.cue {
        c.words = split_words(&c.phrase.to_lowercase());
        if c.words.is_empty() {
            bail!("{source}: a cue has an empty phrase");
        }
        out.push(c);
    }
    Ok(out)
}

fn parse_instruments(text: &str, source: &str) -> Result<Vec<Instrument>> {
    let file: InstrumentFile = toml::from_str(text).with_context(|| format!("{source}: not an instrument file"))?;
    let mut out = Vec::new();
    for mut ins in file.instrument {
        if ins.id.trim().is_empty() {
            bail!("{source}: an instrument has no id");
        }
        ins.patterns = ins.cues.iter().map(|c| Pattern::parse(c)).collect();
        out.push(ins);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        split_words(&s.to_lowercase())
    }

    #[test]
    fn longest_instrument_cue_wins() {
        let lex = Lexicon::load(&[], &[]).unwrap();
        let found = lex.instruments_in(&words("offering a gradual easing of sanctions"));
        assert_eq!(lex.instruments[found[0].0].id, "sanctions_relief");
        assert_eq!(found.len(), 1);
        let found = lex.instruments_in(&words(
            "intensify the political pressure and economic sanctions on Iran",
        ));
        assert_eq!(lex.instruments[found[0].0].id, "sanctions");
        let found = lex.instruments_in(&words("negotiate seriously"));
        assert_eq!(lex.instruments[found[0].0].id, "negotiation");
    }
}
