//! The knowledge base of political actors (data/entities/entities.csv, extendable with
//! `--entities FILE`) and matching of its names, aliases and demonyms against a sentence's words.

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::PathBuf;

pub const DEFAULT_ENTITIES: &str = include_str!("../../data/entities/entities.csv");
/// Capitalised words that alone are never a name ("Federal", "Chamber"); see the file's header.
pub const NOT_NAMES: &str = include_str!("../../data/entities/not-names.txt");

#[derive(Debug, Clone, PartialEq)]
pub struct KbEntity {
    pub id: String,
    pub name: String,
    pub label: String,
    pub kind: String,
    pub description: String,
}

/// A match of a knowledge-base form in a sentence: words `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KbMatch {
    pub start: usize,
    pub end: usize,
    pub entity: usize,
    pub demonym: bool,
}

#[derive(Debug, Default)]
pub struct KnowledgeBase {
    pub entities: Vec<KbEntity>,
    by_id: HashMap<String, usize>,
    /// Forms with a capital letter, matched as written.
    exact: HashMap<Vec<String>, (usize, bool)>,
    /// All-lowercase forms ("the supreme leader"), matched in any capitalisation.
    folded: HashMap<Vec<String>, (usize, bool)>,
    max_len: usize,
    /// Whole-mention forms that are never names (`data/entities/not-names.txt`), as token lists.
    not_names: std::collections::HashSet<Vec<String>>,
    pub sources: Vec<String>,
    pub sha256: String,
}

/// Words of a name as rhetor's tokenizer splits them, so forms match document tokens.
pub fn words_of(s: &str) -> Vec<String> {
    // One span over the whole form: a name such as "U.S. President" must not be split in two.
    let whole = crate::document::Span::new(0, s.chars().count());
    crate::text::tokenize_words(s, &[whole])
        .iter()
        .map(|t| crate::text::slice_chars(s, t.span).to_string())
        .collect()
}

impl KnowledgeBase {
    /// The built-in file (unless `no_default`), then each user file; a user row with an existing
    /// id replaces that entity.
    pub fn load(extra: &[PathBuf], no_default: bool) -> Result<Self> {
        let mut kb = KnowledgeBase::default();
        let mut texts: Vec<(String, String)> = Vec::new();
        if !no_default {
            texts.push(("built-in data/entities/entities.csv".into(), DEFAULT_ENTITIES.into()));
        }
        for p in extra {
            let t = std::fs::read_to_string(p).with_context(|| format!("cannot read entities file {}", p.display()))?;
            texts.push((p.display().to_string(), t));
        }
        let mut rows: Vec<(KbEntity, Vec<String>, Vec<String>)> = Vec::new();
        for (name, text) in &texts {
            let mut rdr = csv::Reader::from_reader(text.as_bytes());
            let headers: Vec<String> = rdr
                .headers()
                .with_context(|| format!("entities file {name}: no header row"))?
                .iter()
                .map(|h| h.trim().to_lowercase())
                .collect();
            let col = |c: &str| headers.iter().position(|h| h == c);
            let (Some(ci), Some(cn), Some(ct)) = (col("id"), col("name"), col("type")) else {
                bail!("entities file {name} needs columns id, name and type (and optionally kind, aliases, demonyms, description)");
            };
            for (i, rec) in rdr.records().enumerate() {
                let rec = rec.with_context(|| format!("entities file {name}: row {} is malformed", i + 2))?;
                let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("").trim().to_string();
                let label = get(Some(ct)).to_uppercase();
                if !["PER", "ORG", "LOC", "MISC"].contains(&label.as_str()) {
                    bail!(
                        "entities file {name}: row {}: type must be PER, ORG, LOC or MISC, not {label:?}",
                        i + 2
                    );
                }
                let e = KbEntity {
                    id: get(Some(ci)),
                    name: get(Some(cn)),
                    label,
                    kind: get(col("kind")),
                    description: get(col("description")),
                };
                if e.id.is_empty() || e.name.is_empty() {
                    bail!("entities file {name}: row {}: id and name must not be empty", i + 2);
                }
                let split = |s: String| {
                    s.split('|')
                        .map(|a| a.trim().to_string())
                        .filter(|a| !a.is_empty())
                        .collect::<Vec<_>>()
                };
                let row = (e, split(get(col("aliases"))), split(get(col("demonyms"))));
                match rows.iter().position(|r| r.0.id == row.0.id) {
                    Some(k) => rows[k] = row,
                    None => rows.push(row),
                }
            }
            kb.sources.push(name.clone());
        }
        kb.not_names = NOT_NAMES
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(words_of)
            .collect();
        kb.sources.push("built-in data/entities/not-names.txt".into());
        kb.sha256 = crate::corpus::sha256_hex(
            texts
                .iter()
                .map(|t| t.1.as_str())
                .chain(std::iter::once(NOT_NAMES))
                .collect::<Vec<_>>()
                .join("\n")
                .as_bytes(),
        );
        for (idx, (e, aliases, demonyms)) in rows.into_iter().enumerate() {
            kb.by_id.insert(e.id.clone(), idx);
            let forms = std::iter::once((e.name.clone(), false))
                .chain(aliases.into_iter().map(|a| (a, false)))
                .chain(demonyms.into_iter().map(|d| (d, true)));
            for (form, demonym) in forms {
                let words = words_of(&form);
                if words.is_empty() {
                    continue;
                }
                kb.max_len = kb.max_len.max(words.len());
                if form.chars().any(|c| c.is_uppercase()) {
                    kb.exact.entry(leading_the_folded(words)).or_insert((idx, demonym));
                } else {
                    kb.folded
                        .entry(words.iter().map(|w| w.to_lowercase()).collect())
                        .or_insert((idx, demonym));
                }
            }
            kb.entities.push(e);
        }
        Ok(kb)
    }

    pub fn get(&self, id: &str) -> Option<&KbEntity> {
        self.by_id.get(id).map(|&i| &self.entities[i])
    }

    /// The entity a whole form names, if any. A leading "The" matches "the" (a sentence may open
    /// with "The Islamic Republic").
    pub fn lookup(&self, words: &[&str]) -> Option<(usize, bool)> {
        let key: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        self.exact.get(&leading_the_folded(key.clone())).copied().or_else(|| {
            self.folded
                .get(&key.iter().map(|w| w.to_lowercase()).collect::<Vec<_>>())
                .copied()
        })
    }

    /// Longest non-overlapping matches, left to right.
    /// Whether these words, as a whole mention, are never a name ("Federal", "Secretaries").
    pub fn is_not_a_name(&self, words: &[&str]) -> bool {
        self.not_names
            .iter()
            .any(|f| f.len() == words.len() && f.iter().zip(words).all(|(a, b)| a == b))
    }

    pub fn find(&self, words: &[&str]) -> Vec<KbMatch> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let mut found = None;
            for len in (1..=self.max_len.min(words.len() - i)).rev() {
                if let Some((entity, demonym)) = self.lookup(&words[i..i + len]) {
                    found = Some(KbMatch {
                        start: i,
                        end: i + len,
                        entity,
                        demonym,
                    });
                    break;
                }
            }
            match found {
                Some(m) => {
                    out.push(m);
                    i = m.end;
                }
                None => i += 1,
            }
        }
        out
    }
}

/// Case-sensitive forms with their leading article in lower case.
fn leading_the_folded(mut words: Vec<String>) -> Vec<String> {
    if words.len() > 1 && words[0] == "The" {
        words[0] = "the".into();
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_base_matches_aliases_and_demonyms() {
        let kb = KnowledgeBase::load(&[], false).unwrap();
        assert!(kb.entities.len() >= 300, "{}", kb.entities.len());
        let text = "the five permanent members of the United Nations Security Council , plus Germany and Iran met ; The Supreme Leader and the Iranian regime";
        let words: Vec<&str> = text.split(' ').collect();
        let found: Vec<(String, String)> = kb
            .find(&words)
            .iter()
            .map(|m| (words[m.start..m.end].join(" "), kb.entities[m.entity].name.clone()))
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    "the five permanent members of the United Nations Security Council , plus Germany".to_string(),
                    "P5+1".to_string()
                ),
                ("Iran".into(), "Iran".into()),
                ("The Supreme Leader".into(), "Ali Khamenei".into()),
                ("Iranian".into(), "Iran".into()),
            ]
        );
        // Regression: Ukraine and Burma were NIL in the State of the Union addresses.
        let words = ["Ukrainian", "forces", "defend", "Ukraine", ";", "Burma", "and", "Cuba"];
        let names: Vec<&str> = kb
            .find(&words)
            .iter()
            .map(|m| kb.entities[m.entity].id.as_str())
            .collect();
        assert_eq!(names, vec!["Q212", "Q212", "Q836", "Q241"]);
        // Regression: a sentence opening with "The Islamic Republic" is Iran, not a NIL place.
        let words = ["The", "Islamic", "Republic", "is", "isolated"];
        assert_eq!(
            kb.find(&words)
                .iter()
                .map(|m| kb.entities[m.entity].id.as_str())
                .collect::<Vec<_>>(),
            vec!["Q794"]
        );
        // Capitalised forms are case-sensitive: "us" is not the United States.
        assert!(kb.find(&["let", "us", "go"]).is_empty());
    }
}
