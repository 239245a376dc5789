//! Gold sets of entities with character offsets and knowledge-base links (the commentary
//! development set, `data/ner/commentary/dev.jsonl`), and their scoring through the very stages
//! `analyze` runs: each article's gold sentences become one document (a paragraph each), which is
//! segmented, tokenised, tagged and linked; the mentions it gets are compared with the gold spans.
//!
//! Scores: entity-level exact match (start, end and type) as conlleval counts them; linking
//! accuracy over the correctly found mentions (the knowledge-base id agrees, or both are NIL);
//! and the NIL shares of gold and predicted mentions. A mention nested in a longer one (a known
//! name inside a descriptive phrase) is not scored: the gold set labels the outermost name.

use super::conll::{NerScores, Prf};
use crate::document::{Document, Span};
use crate::pipeline::Component;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
pub struct GoldEntity {
    pub start: usize,
    pub end: usize,
    pub label: String,
    #[serde(default)]
    pub text: String,
    /// A knowledge-base id, or `NIL`.
    pub kb: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GoldSentence {
    pub article: String,
    pub sent_id: usize,
    pub text: String,
    pub entities: Vec<GoldEntity>,
}

pub fn read_jsonl(path: &Path) -> Result<Vec<GoldSentence>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let s: GoldSentence = serde_json::from_str(line)
            .with_context(|| format!("{} line {}: not a gold sentence", path.display(), i + 1))?;
        let n = s.text.chars().count();
        for e in &s.entities {
            if e.start >= e.end || e.end > n {
                bail!(
                    "{} line {}: entity {}..{} is outside the sentence",
                    path.display(),
                    i + 1,
                    e.start,
                    e.end
                );
            }
            if super::conll::canonical_label(&e.label).is_none() {
                bail!("{} line {}: unknown label {:?}", path.display(), i + 1, e.label);
            }
        }
        out.push(s);
    }
    Ok(out)
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LinkingScores {
    /// Correctly found mentions (span and type), over which linking is judged.
    pub found: usize,
    pub linked_correctly: usize,
    pub accuracy: f64,
    /// Of the correctly found mentions whose gold link is a knowledge-base entity: linked to it.
    pub kb_found: usize,
    pub kb_accuracy: f64,
    /// Shares of NIL among gold mentions and among predicted mentions.
    pub gold_nil_share: f64,
    pub predicted_nil_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DevScores {
    pub entities: NerScores,
    pub linking: LinkingScores,
    pub articles: usize,
    /// The gold mentions missed and the predicted mentions not in the gold, for reading.
    pub errors: Vec<String>,
}

fn is_nil(id: &str) -> bool {
    id.eq_ignore_ascii_case("nil") || id.starts_with("nil:") || id.is_empty()
}

/// Runs `stages` (segmentation, tokens, entities) over every article and scores the mentions.
pub fn evaluate(gold: &[GoldSentence], stages: &[&dyn Component]) -> Result<DevScores> {
    let mut by_article: BTreeMap<&str, Vec<&GoldSentence>> = BTreeMap::new();
    for s in gold {
        by_article.entry(s.article.as_str()).or_default().push(s);
    }
    // (label) -> gold, predicted, correct
    let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut link = LinkingScores::default();
    let (mut gold_total, mut gold_nil, mut pred_total, mut pred_nil) = (0usize, 0usize, 0usize, 0usize);
    let mut errors = Vec::new();
    let mut tokens = 0usize;
    for (article, mut sents) in by_article.clone() {
        sents.sort_by_key(|s| s.sent_id);
        let mut text = String::new();
        let mut offsets = Vec::new();
        for s in &sents {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            offsets.push(text.chars().count());
            text.push_str(&s.text);
        }
        let mut doc = Document::from_text(article, text);
        for stage in stages {
            stage.process(&mut doc)?;
        }
        tokens += doc.tokens.len();
        // Gold spans in document offsets: (start, end, label, kb).
        let mut gold_spans: Vec<(usize, usize, String, String)> = Vec::new();
        for (s, &off) in sents.iter().zip(&offsets) {
            for e in &s.entities {
                let label = super::conll::canonical_label(&e.label).unwrap_or("MISC").to_string();
                gold_spans.push((off + e.start, off + e.end, label, e.kb.clone()));
            }
        }
        let outermost: Vec<&super::link::Mention> = doc
            .mentions
            .iter()
            .filter(|m| {
                !doc.mentions.iter().any(|o| {
                    !std::ptr::eq(*m, o)
                        && o.start <= m.start
                        && m.end <= o.end
                        && (o.end - o.start) > (m.end - m.start)
                })
            })
            .collect();
        let slice = |s: usize, e: usize| doc.slice(Span::new(s, e)).to_string();
        for g in &gold_spans {
            counts.entry(g.2.clone()).or_default().0 += 1;
            gold_total += 1;
            gold_nil += usize::from(is_nil(&g.3));
            if !outermost
                .iter()
                .any(|m| m.start == g.0 && m.end == g.1 && m.label == g.2)
            {
                errors.push(format!("{article}: missed {} {:?}", g.2, slice(g.0, g.1)));
            }
        }
        for m in &outermost {
            let c = counts.entry(m.label.clone()).or_default();
            c.1 += 1;
            pred_total += 1;
            pred_nil += usize::from(is_nil(&m.entity_id));
            match gold_spans
                .iter()
                .find(|g| g.0 == m.start && g.1 == m.end && g.2 == m.label)
            {
                Some(g) => {
                    c.2 += 1;
                    link.found += 1;
                    let right = if is_nil(&g.3) {
                        is_nil(&m.entity_id)
                    } else {
                        g.3 == m.entity_id
                    };
                    link.linked_correctly += usize::from(right);
                    if !is_nil(&g.3) {
                        link.kb_found += 1;
                        if right {
                            link.kb_accuracy += 1.0;
                        }
                    }
                    if !right {
                        errors.push(format!(
                            "{article}: {:?} linked to {} instead of {}",
                            m.text, m.entity_id, g.3
                        ));
                    }
                }
                None => errors.push(format!("{article}: spurious {} {:?}", m.label, m.text)),
            }
        }
    }
    let (mut g, mut p, mut c) = (0, 0, 0);
    let mut per_type = BTreeMap::new();
    for (l, (gl, pl, cl)) in counts {
        g += gl;
        p += pl;
        c += cl;
        per_type.insert(l, Prf::from_counts(gl, pl, cl));
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    link.accuracy = ratio(link.linked_correctly, link.found);
    link.kb_accuracy = if link.kb_found == 0 {
        0.0
    } else {
        link.kb_accuracy / link.kb_found as f64
    };
    link.gold_nil_share = ratio(gold_nil, gold_total);
    link.predicted_nil_share = ratio(pred_nil, pred_total);
    Ok(DevScores {
        entities: NerScores {
            overall: Prf::from_counts(g, p, c),
            per_type,
            sentences: gold.len(),
            tokens,
        },
        linking: link,
        articles: by_article.len(),
        errors,
    })
}
