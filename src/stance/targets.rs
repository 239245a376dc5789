//! Stance targets (`data/targets.toml`, extendable with `--targets FILE`) and how a sentence
//! becomes evidence for one.

use crate::recommend::lexicon::Pattern;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::PathBuf;

const DEFAULT_TARGETS: &str = include_str!("../../data/targets.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Target {
    pub id: String,
    pub name: String,
    /// What the stance model reads as the target.
    pub description: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub entity_id: Option<String>,
    /// An instrument id: the author's recommendations to use it decide the stance.
    #[serde(default)]
    pub instrument: Option<String>,
    /// When given, a sentence is evidence only if one of these entities is mentioned in it or
    /// within `context_window` sentences of it (sanctions on Cuba say nothing about Iran).
    #[serde(default)]
    pub context_entities: Vec<String>,
    #[serde(default = "default_context_window")]
    pub context_window: usize,
    #[serde(skip)]
    pub patterns: Vec<Pattern>,
}

fn default_context_window() -> usize {
    1
}

#[derive(Deserialize)]
struct TargetFile {
    #[serde(default)]
    target: Vec<Target>,
}

/// The configured targets, with the files they came from.
#[derive(Debug, Clone)]
pub struct Targets {
    pub targets: Vec<Target>,
    pub sources: Vec<String>,
}

impl Targets {
    /// The bundled targets, extended (or, id by id, replaced) by `extra`.
    pub fn load(extra: &[PathBuf]) -> Result<Self> {
        let mut targets = parse(DEFAULT_TARGETS, "data/targets.toml (built in)")?;
        let mut sources = vec!["data/targets.toml (built in)".to_string()];
        for p in extra {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
            for t in parse(&text, &p.display().to_string())? {
                match targets.iter_mut().find(|x| x.id == t.id) {
                    Some(x) => *x = t,
                    None => targets.push(t),
                }
            }
            sources.push(p.display().to_string());
        }
        Ok(Self { targets, sources })
    }
}

fn parse(text: &str, source: &str) -> Result<Vec<Target>> {
    let file: TargetFile = toml::from_str(text).with_context(|| format!("{source}: not a targets file"))?;
    let mut out = Vec::new();
    for mut t in file.target {
        if t.id.trim().is_empty() || t.description.trim().is_empty() {
            bail!("{source}: every target needs an id and a description");
        }
        t.patterns = t
            .aliases
            .iter()
            .chain(&t.keywords)
            .map(|a| Pattern::parse(a))
            .filter(|p| !p.words.is_empty())
            .collect();
        out.push(t);
    }
    Ok(out)
}

impl Target {
    /// Does the sentence (lower-case word tokens) name the target?
    pub fn matches(&self, words: &[String]) -> bool {
        (0..words.len()).any(|i| self.patterns.iter().any(|p| p.match_at(words, i).is_some()))
    }
}
