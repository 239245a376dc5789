//! Gold NER files and their scoring. Files hold one token per line (`token<TAB>tag`, or CoNLL's
//! space-separated `token POS chunk tag`), a blank line between sentences; tags in BIO or IOB1,
//! labels PER/ORG/LOC/MISC in either spelling, CrossNER politics labels mapped onto them.
//! Scores are entity-level exact matches, as conlleval computes them.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

pub const LABELS: &[&str] = &["PER", "ORG", "LOC", "MISC"];

/// BIO tags in model order: O, then B-/I- for each label.
pub fn tag_names() -> Vec<String> {
    let mut t = vec!["O".to_string()];
    for l in LABELS {
        t.push(format!("B-{l}"));
        t.push(format!("I-{l}"));
    }
    t
}

/// A sentence of a gold file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    pub words: Vec<String>,
    /// BIO tags with canonical labels (`B-PER`, `I-ORG`, `O`).
    pub tags: Vec<String>,
}

/// Maps a label spelling onto PER/ORG/LOC/MISC.
pub fn canonical_label(label: &str) -> Option<&'static str> {
    match label.to_lowercase().as_str() {
        "per" | "person" | "politician" | "people" => Some("PER"),
        "org" | "organisation" | "organization" | "politicalparty" | "political_party" | "party" => Some("ORG"),
        "loc" | "location" | "country" | "gpe" | "place" => Some("LOC"),
        "misc" | "miscellaneous" | "election" | "event" => Some("MISC"),
        _ => None,
    }
}

/// Reads a gold file; tags are converted to BIO with canonical labels.
pub fn read_file(path: &Path) -> Result<Vec<Sentence>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text).with_context(|| format!("{} is not a token-per-line NER file", path.display()))
}

pub fn parse(text: &str) -> Result<Vec<Sentence>> {
    let mut out = Vec::new();
    let mut cur = Sentence {
        words: vec![],
        tags: vec![],
    };
    let flush = |cur: &mut Sentence, out: &mut Vec<Sentence>| {
        if !cur.words.is_empty() {
            cur.tags = to_bio(&cur.tags);
            out.push(std::mem::replace(
                cur,
                Sentence {
                    words: vec![],
                    tags: vec![],
                },
            ));
        }
    };
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            flush(&mut cur, &mut out);
            continue;
        }
        let fields: Vec<&str> = if line.contains('\t') {
            line.split('\t').collect()
        } else {
            line.split_whitespace().collect()
        };
        if fields[0] == "-DOCSTART-" {
            flush(&mut cur, &mut out);
            continue;
        }
        if fields.len() < 2 {
            bail!("line {}: expected a token and a tag, found {line:?}", i + 1);
        }
        let (word, raw_tag) = (fields[0], fields[fields.len() - 1]);
        let tag = if raw_tag == "O" {
            "O".to_string()
        } else {
            let (prefix, label) = raw_tag
                .split_once('-')
                .with_context(|| format!("line {}: tag {raw_tag:?} is neither O nor B-/I-LABEL", i + 1))?;
            if !matches!(prefix, "B" | "I") {
                bail!("line {}: tag {raw_tag:?} has prefix {prefix:?}; expected B or I", i + 1);
            }
            let label = canonical_label(label).with_context(|| {
                format!(
                    "line {}: unknown label {label:?} (expected PER, ORG, LOC, MISC or a CrossNER politics label)",
                    i + 1
                )
            })?;
            format!("{prefix}-{label}")
        };
        cur.words.push(word.to_string());
        cur.tags.push(tag);
    }
    flush(&mut cur, &mut out);
    Ok(out)
}

/// IOB1 or BIO to BIO: an `I-X` that does not continue an `X` entity starts one.
pub fn to_bio(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for t in tags {
        if let Some(label) = t.strip_prefix("I-") {
            let continues = out.last().is_some_and(|p| p.len() > 2 && &p[2..] == label);
            out.push(if continues { t.clone() } else { format!("B-{label}") });
        } else {
            out.push(t.clone());
        }
    }
    out
}

/// Entity spans `(start, end, label)` (word indices, end exclusive) of a BIO sequence. A stray
/// `I-X` starts an entity, as in conlleval.
pub fn spans(tags: &[String]) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, t) in tags.iter().enumerate() {
        let (prefix, label) = match t.split_once('-') {
            Some((p, l)) => (p, l),
            None => ("O", ""),
        };
        let continues = prefix == "I" && open.as_ref().is_some_and(|(_, l)| l == label);
        if !continues {
            if let Some((s, l)) = open.take() {
                out.push((s, i, l));
            }
            if prefix == "B" || prefix == "I" {
                open = Some((i, label.to_string()));
            }
        }
    }
    if let Some((s, l)) = open {
        out.push((s, tags.len(), l));
    }
    out
}

/// Precision, recall and F1 with their counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub gold: usize,
    pub predicted: usize,
    pub correct: usize,
}

impl Prf {
    pub fn from_counts(gold: usize, predicted: usize, correct: usize) -> Self {
        let precision = if predicted == 0 {
            0.0
        } else {
            correct as f64 / predicted as f64
        };
        let recall = if gold == 0 { 0.0 } else { correct as f64 / gold as f64 };
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Self {
            precision,
            recall,
            f1,
            gold,
            predicted,
            correct,
        }
    }
}

/// Scores of predicted tag sequences against gold ones.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct NerScores {
    pub overall: Prf,
    pub per_type: BTreeMap<String, Prf>,
    pub sentences: usize,
    pub tokens: usize,
}

pub fn score(gold: &[Vec<String>], predicted: &[Vec<String>]) -> NerScores {
    let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut tokens = 0;
    for (g, p) in gold.iter().zip(predicted) {
        tokens += g.len();
        let gs = spans(g);
        let ps = spans(p);
        for (_, _, l) in &gs {
            counts.entry(l.clone()).or_default().0 += 1;
        }
        for s in &ps {
            let c = counts.entry(s.2.clone()).or_default();
            c.1 += 1;
            if gs.contains(s) {
                c.2 += 1;
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
    NerScores {
        overall: Prf::from_counts(g, p, c),
        per_type,
        sentences: gold.len(),
        tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn iob1_becomes_bio() {
        assert_eq!(
            to_bio(&s(&["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"])),
            s(&["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "B-ORG"])
        );
    }

    #[test]
    fn both_layouts_and_label_spellings() {
        let tab = parse("EU\tB-organisation\nrejects\tO\nKhalaji\tB-politician\n\n").unwrap();
        let spaces =
            parse("-DOCSTART- -X- -X- O\n\nEU NNP B-NP I-ORG\nrejects VBZ B-VP O\nKhalaji NNP I-NP I-PER\n").unwrap();
        assert_eq!(tab, spaces);
        assert_eq!(tab[0].tags, s(&["B-ORG", "O", "B-PER"]));
        assert!(parse("x\tB-weird\n").is_err());
    }

    #[test]
    fn conlleval_counts() {
        let gold = vec![s(&["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"])];
        let pred = vec![s(&["B-PER", "I-PER", "O", "B-ORG", "O", "I-ORG"])];
        let sc = score(&gold, &pred);
        // Correct: PER (0,2) and ORG (5,6) (a stray I- starts an entity); wrong: ORG (3,4).
        assert_eq!((sc.overall.gold, sc.overall.predicted, sc.overall.correct), (3, 3, 2));
        assert!((sc.overall.f1 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(sc.per_type["LOC"].recall, 0.0);
        assert_eq!(sc.per_type["ORG"].precision, 0.5);
    }
}
