//! Boilerplate rules (data/rules/boilerplate.toml): which sections, lines and inline fragments of a
//! scraped page are not the article, how bylines and bios look, and which site a page is from.

use anyhow::{Context, Result};
use regex::Regex;
use serde::Deserialize;
use std::path::Path;

/// The defaults shipped in `data/rules/boilerplate.toml`, compiled into the binary.
pub const DEFAULT_RULES: &str = include_str!("../../data/rules/boilerplate.toml");
pub use super::html::extract::DEFAULT_HTML_RULES;
use super::html::extract::{HtmlRules, HtmlRulesFile};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    sections: SectionsFile,
    #[serde(default)]
    lines: LinesFile,
    #[serde(default)]
    inline: InlineFile,
    #[serde(default)]
    byline: PatternsFile,
    #[serde(default)]
    bio: BioFile,
    #[serde(default)]
    credit: CreditFile,
    #[serde(default)]
    transcript: TranscriptFile,
    #[serde(default)]
    site: Vec<SiteFile>,
    /// Main-content extraction from web pages (`data/rules/html.toml`).
    html: Option<HtmlRulesFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SectionsFile {
    #[serde(default)]
    drop: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinesFile {
    #[serde(default)]
    drop: Vec<String>,
    #[serde(default)]
    end: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct InlineFile {
    #[serde(default)]
    drop: Vec<String>,
    #[serde(default)]
    strip_chars: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternsFile {
    #[serde(default)]
    patterns: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BioFile {
    #[serde(default)]
    patterns: Vec<String>,
    max_words: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditFile {
    max_words: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TranscriptFile {
    #[serde(default)]
    author_labels: Vec<String>,
    #[serde(default)]
    other_labels: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteFile {
    publication: String,
    signatures: Vec<String>,
}

/// A site recognised by literal signatures in the raw page.
#[derive(Debug, Clone)]
pub struct Site {
    pub publication: String,
    pub signatures: Vec<String>,
}

/// Compiled rules.
#[derive(Debug, Clone)]
pub struct Rules {
    pub drop_sections: Vec<Regex>,
    pub drop_lines: Vec<Regex>,
    pub end_lines: Vec<Regex>,
    pub inline_drop: Vec<Regex>,
    pub strip_chars: Vec<char>,
    pub byline: Vec<Regex>,
    /// Bio patterns with `{author}` still to be filled in.
    pub bio_patterns: Vec<String>,
    pub bio_max_words: usize,
    pub credit_max_words: usize,
    pub author_labels: Vec<Regex>,
    pub other_labels: Vec<Regex>,
    pub sites: Vec<Site>,
    /// How the article is found in an HTML page.
    pub html: HtmlRules,
    /// Where the rules came from, for the manifest.
    pub sources: Vec<String>,
}

fn compile(patterns: &[String], what: &str, source: &str) -> Result<Vec<Regex>> {
    patterns
        .iter()
        .map(|p| Regex::new(p).with_context(|| format!("{source}: invalid regular expression in {what}: {p:?}")))
        .collect()
}

impl Rules {
    /// The shipped defaults.
    pub fn defaults() -> Self {
        Self::from_sources(&Self::default_sources()).expect("the shipped rules are valid")
    }

    fn default_sources() -> Vec<(String, String)> {
        vec![
            ("built-in data/rules/boilerplate.toml".into(), DEFAULT_RULES.into()),
            ("built-in data/rules/html.toml".into(), DEFAULT_HTML_RULES.into()),
        ]
    }

    /// Defaults (unless `no_defaults`) extended by each user rules file in order.
    pub fn load(extra: &[std::path::PathBuf], no_defaults: bool) -> Result<Self> {
        let mut sources: Vec<(String, String)> = Vec::new();
        if !no_defaults {
            sources.extend(Self::default_sources());
        }
        for p in extra {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read rules file {}", p.display()))?;
            sources.push((p.display().to_string(), text));
        }
        Self::from_sources(&sources)
    }

    fn from_sources(sources: &[(String, String)]) -> Result<Self> {
        let mut rules = Rules {
            drop_sections: vec![],
            drop_lines: vec![],
            end_lines: vec![],
            inline_drop: vec![],
            strip_chars: vec![],
            byline: vec![],
            bio_patterns: vec![],
            bio_max_words: 80,
            credit_max_words: 6,
            author_labels: vec![],
            other_labels: vec![],
            sites: vec![],
            html: HtmlRules::compile(&[])?,
            sources: vec![],
        };
        let mut html_tables: Vec<(String, HtmlRulesFile)> = Vec::new();
        for (name, text) in sources {
            let f: RulesFile = toml::from_str(text).with_context(|| format!("{name}: not a valid rules file"))?;
            let sections: Vec<String> = f.sections.drop.iter().map(|p| format!("(?i)^(?:{p})$")).collect();
            rules.drop_sections.extend(compile(&sections, "[sections] drop", name)?);
            rules.drop_lines.extend(compile(&f.lines.drop, "[lines] drop", name)?);
            rules.end_lines.extend(compile(&f.lines.end, "[lines] end", name)?);
            rules
                .inline_drop
                .extend(compile(&f.inline.drop, "[inline] drop", name)?);
            for s in &f.inline.strip_chars {
                let mut it = s.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) => rules.strip_chars.push(c),
                    _ => anyhow::bail!("{name}: [inline] strip_chars takes single characters, got {s:?}"),
                }
            }
            rules
                .byline
                .extend(compile(&f.byline.patterns, "[byline] patterns", name)?);
            for p in &f.bio.patterns {
                // Check the pattern compiles with a name filled in.
                Regex::new(&p.replace("{author}", "Jane Doe"))
                    .with_context(|| format!("{name}: invalid regular expression in [bio] patterns: {p:?}"))?;
                rules.bio_patterns.push(p.clone());
            }
            if let Some(n) = f.bio.max_words {
                rules.bio_max_words = n;
            }
            if let Some(n) = f.credit.max_words {
                rules.credit_max_words = n;
            }
            rules.author_labels.extend(compile(
                &f.transcript.author_labels,
                "[transcript] author_labels",
                name,
            )?);
            rules
                .other_labels
                .extend(compile(&f.transcript.other_labels, "[transcript] other_labels", name)?);
            rules.sites.extend(f.site.into_iter().map(|s| Site {
                publication: s.publication,
                signatures: s.signatures,
            }));
            if let Some(h) = f.html {
                html_tables.push((name.clone(), h));
            }
            rules.sources.push(name.clone());
        }
        rules.html = HtmlRules::compile(&html_tables)?;
        Ok(rules)
    }

    /// The publication of the first site whose signature occurs in the raw page.
    pub fn site_publication(&self, raw: &str) -> Option<&str> {
        self.sites
            .iter()
            .find(|s| s.signatures.iter().any(|sig| raw.contains(sig.as_str())))
            .map(|s| s.publication.as_str())
    }
}

/// Reads a rules file only to validate it (used by tests and `--rules`).
pub fn validate_file(path: &Path) -> Result<()> {
    Rules::load(&[path.to_path_buf()], true).map(|_| ())
}
