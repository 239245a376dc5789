//! Document-level stance gold (`data/stance/commentary/`): the author's stance toward targets in
//! whole op-eds, labelled by hand (`gold.csv`: article, target, stance, ...), with the articles'
//! sentences in `articles.jsonl`. Each article becomes one document (a paragraph per sentence),
//! the very pipeline `analyze` runs reads it, and its `stances` rows are compared with the gold.
//! A gold target the pipeline gave no row counts as predicted neutral (rhetor saw no stance).

use super::data::{score, Scores, Stance};
use crate::document::{Document, Metadata};
use crate::pipeline::Pipeline;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct GoldStance {
    pub article: String,
    pub target: String,
    pub stance: Stance,
}

/// True when `path` is a document-level gold CSV (it has `article`, `target` and `stance`).
pub fn is_document_gold(path: &Path) -> bool {
    path.is_file()
        && csv::Reader::from_path(path)
            .ok()
            .and_then(|mut r| r.headers().ok().cloned())
            .is_some_and(|h| {
                ["article", "target", "stance"]
                    .iter()
                    .all(|c| h.iter().any(|x| x == *c))
            })
}

pub fn read_gold(path: &Path) -> Result<Vec<GoldStance>> {
    let mut r = csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let h = r.headers()?.clone();
    let col = |n: &str| {
        h.iter()
            .position(|x| x == n)
            .with_context(|| format!("{}: no {n:?} column", path.display()))
    };
    let (a, t, s) = (col("article")?, col("target")?, col("stance")?);
    let mut out = Vec::new();
    for (i, row) in r.records().enumerate() {
        let row = row.with_context(|| format!("{}: record {}", path.display(), i + 1))?;
        let stance = match row.get(s).unwrap_or("").trim() {
            "favor" | "favour" => Stance::Favor,
            "against" => Stance::Against,
            "neutral" | "none" => Stance::Neutral,
            other => bail!("{}: record {}: stance {other:?}", path.display(), i + 1),
        };
        out.push(GoldStance {
            article: row.get(a).unwrap_or("").to_string(),
            target: row.get(t).unwrap_or("").to_string(),
            stance,
        });
    }
    Ok(out)
}

/// The labelled articles: `articles.jsonl` beside the gold file, one object per article with
/// `article`, `title`, `author`, `date`, `publication` and `sentences`.
pub fn read_articles(path: &Path) -> Result<Vec<Document>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{} line {}", path.display(), i + 1))?;
        let id = v["article"].as_str().context("no \"article\"")?.to_string();
        let sentences: Vec<&str> = v["sentences"]
            .as_array()
            .context("no \"sentences\"")?
            .iter()
            .filter_map(|s| s.as_str())
            .collect();
        let meta = Metadata {
            title: v["title"].as_str().map(str::to_string),
            authors: v["author"]
                .as_str()
                .map(|a| a.split("; ").map(str::to_string).collect())
                .unwrap_or_default(),
            date: v["date"].as_str().map(str::to_string),
            publication: v["publication"].as_str().map(str::to_string),
            ..Default::default()
        };
        out.push(Document {
            meta,
            ..Document::from_text(&id, sentences.join("\n\n"))
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct DocumentStanceScores {
    pub overall: Scores,
    /// Configured (policy) targets and actor (`entity:`) targets apart.
    pub policy: Scores,
    pub actors: Scores,
    pub rows: usize,
    /// Gold rows the pipeline gave no row for (counted as neutral).
    pub missing: usize,
    /// gold -> predicted -> count.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// Predictions row by row: (article, target, gold, predicted, score, basis).
    pub predictions: Vec<(String, String, String, String, f32, String)>,
}

/// Runs `pipeline` over the articles and scores their stances against the gold.
pub fn evaluate(gold: &[GoldStance], mut docs: Vec<Document>, pipeline: &Pipeline) -> Result<DocumentStanceScores> {
    use rayon::prelude::*;
    let errors: Vec<_> = docs.par_iter_mut().flat_map(|d| pipeline.run(d)).collect();
    if let Some(e) = errors.first() {
        bail!("{}", e.message);
    }
    let by_doc: BTreeMap<&str, &Document> = docs.iter().map(|d| (d.doc_id.as_str(), d)).collect();
    let (mut g_all, mut p_all, mut g_pol, mut p_pol, mut g_act, mut p_act) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut missing = 0;
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut predictions = Vec::new();
    for g in gold {
        let Some(doc) = by_doc.get(g.article.as_str()) else {
            bail!("gold article {} is not in the articles file", g.article);
        };
        let found = doc.stances.iter().find(|s| s.target == g.target);
        let (pred, score, basis) = match found {
            Some(s) => (s.stance, s.score, s.basis.to_string()),
            None => {
                missing += 1;
                (Stance::Neutral, 0.0, "no row".to_string())
            }
        };
        *confusion
            .entry(g.stance.as_str().to_string())
            .or_default()
            .entry(pred.as_str().to_string())
            .or_default() += 1;
        g_all.push(g.stance);
        p_all.push(pred);
        if g.target.starts_with("entity:") {
            g_act.push(g.stance);
            p_act.push(pred);
        } else {
            g_pol.push(g.stance);
            p_pol.push(pred);
        }
        predictions.push((
            g.article.clone(),
            g.target.clone(),
            g.stance.as_str().into(),
            pred.as_str().into(),
            score,
            basis,
        ));
    }
    Ok(DocumentStanceScores {
        overall: score(&g_all, &p_all),
        policy: score(&g_pol, &p_pol),
        actors: score(&g_act, &p_act),
        rows: gold.len(),
        missing,
        confusion,
        predictions,
    })
}
