//! The document-level stance decision, learned on hand-labelled op-eds
//! (`data/stance/commentary/`): a multinomial logistic regression over features of a target's
//! evidence in one document — how much there is, the stance model's mean and extreme
//! probabilities over the author's own sentences and, apart, over reported speech (quotations and
//! sentences with a reporting verb weigh less for the author's view), the author's
//! recommendations on the target's instrument, and whether the target is an actor. Its
//! probabilities are calibrated on the labelled documents: the `score` is P(favour) - P(against).

use super::data::Stance;
use super::DocumentStance;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Number of features of [`features`].
pub const N_FEATURES: usize = 16;
pub const AGGREGATE_VERSION: u32 = 1;

const REPORTING: &[&str] = &[
    "said",
    "says",
    "say",
    "argued",
    "argues",
    "argue",
    "told",
    "tells",
    "claimed",
    "claims",
    "insisted",
    "insists",
    "according",
    "wrote",
    "writes",
    "asserted",
    "asserts",
    "declared",
    "declares",
    "stated",
    "states",
    "warned",
    "warns",
    "tweeted",
    "added",
    "noted",
    "suggested",
    "believes",
];

/// A sentence that reports someone else's words: a quotation or a reporting verb.
pub fn is_reported(lower_words: &[String]) -> bool {
    lower_words
        .iter()
        .any(|w| matches!(w.as_str(), "\"" | "“" | "”") || REPORTING.contains(&w.as_str()))
}

/// Features of a target's evidence in a document. `sent_probs`: (sentence, [against, favor,
/// neutral]); `recs`: (sentence, +1 act / -1 refrain) of the author's recommendations on the
/// target's instrument.
pub fn features(
    kind: &str,
    sent_probs: &[(usize, [f32; 3])],
    recs: &[(usize, f32)],
    reported: &dyn Fn(usize) -> bool,
    n_sentences: usize,
) -> Vec<f32> {
    let mean = |rows: &[&[f32; 3]]| -> [f32; 3] {
        if rows.is_empty() {
            return [0.0, 0.0, 0.0];
        }
        let mut m = [0f32; 3];
        for r in rows {
            for k in 0..3 {
                m[k] += r[k];
            }
        }
        m.map(|v| v / rows.len() as f32)
    };
    let own: Vec<&[f32; 3]> = sent_probs
        .iter()
        .filter(|(s, _)| !reported(*s))
        .map(|(_, p)| p)
        .collect();
    let rep: Vec<&[f32; 3]> = sent_probs
        .iter()
        .filter(|(s, _)| reported(*s))
        .map(|(_, p)| p)
        .collect();
    let all: Vec<&[f32; 3]> = sent_probs.iter().map(|(_, p)| p).collect();
    let (mo, mr, ma) = (mean(&own), mean(&rep), mean(&all));
    let max_f = all.iter().map(|p| p[1]).fold(0f32, f32::max);
    let max_a = all.iter().map(|p| p[0]).fold(0f32, f32::max);
    let n = sent_probs.len().max(1) as f32;
    let share_f = all.iter().filter(|p| p[1] > p[0] && p[1] > p[2]).count() as f32 / n;
    let share_a = all.iter().filter(|p| p[0] > p[1] && p[0] > p[2]).count() as f32 / n;
    let net: f32 = recs.iter().map(|r| r.1).sum();
    let first = sent_probs.iter().map(|(s, _)| *s).min().unwrap_or(0) as f32 / n_sentences.max(1) as f32;
    vec![
        (1.0 + sent_probs.len() as f32).ln(),
        mo[1] - mo[0],
        mo[2],
        f32::from(!own.is_empty()),
        mr[1] - mr[0],
        rep.len() as f32 / n,
        ma[1] - ma[0],
        ma[2],
        max_f,
        max_a,
        share_f,
        share_a,
        net.clamp(-3.0, 3.0) / 3.0,
        f32::from(!recs.is_empty()),
        f32::from(kind == "entity"),
        first,
    ]
}

/// A trained aggregator: standardisation, weights [3 x N_FEATURES] (against, favor, neutral)
/// and biases.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Aggregator {
    pub version: u32,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub weights: Vec<Vec<f32>>,
    pub bias: Vec<f32>,
    /// Cross-validated (folds by article) scores on the labelled documents, and what trained it.
    pub cv_macro_f1: f64,
    pub cv_accuracy: f64,
    pub cv_f1: [f64; 3],
    pub n_documents: usize,
    pub n_rows: usize,
    pub trained_on: String,
}

impl Aggregator {
    pub fn load(path: &Path) -> Result<Self> {
        let a: Self =
            serde_json::from_slice(&std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?)
                .with_context(|| format!("{} is not a stance aggregator", path.display()))?;
        if a.version != AGGREGATE_VERSION || a.mean.len() != N_FEATURES {
            bail!(
                "{} was made by another version of rhetor; retrain it with `rhetor train stance --documents ...`",
                path.display()
            );
        }
        Ok(a)
    }

    pub fn probabilities(&self, x: &[f32]) -> [f32; 3] {
        probabilities(&self.weights, &self.bias, &self.mean, &self.std, x)
    }

    /// Replaces the fixed policy's decision with the learned one (the evidence stays the
    /// sentences whose own stance is the document's).
    pub fn decide(&self, d: &mut DocumentStance) {
        if d.features.len() != N_FEATURES {
            return;
        }
        let p = self.probabilities(&d.features);
        let best = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(2);
        let stance = Stance::from_index(best);
        d.score = ((p[1] - p[0]) * 1e4).round() / 1e4;
        if stance != d.stance {
            d.basis = "model";
        }
        d.stance = stance;
    }
}

fn probabilities(w: &[Vec<f32>], b: &[f32], mean: &[f32], std: &[f32], x: &[f32]) -> [f32; 3] {
    let z: Vec<f32> = x.iter().zip(mean).zip(std).map(|((v, m), s)| (v - m) / s).collect();
    let mut logits = [0f32; 3];
    for c in 0..3 {
        logits[c] = b[c] + w[c].iter().zip(&z).map(|(a, b)| a * b).sum::<f32>();
    }
    let m = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let e = logits.map(|l| (l - m).exp());
    let s: f32 = e.iter().sum();
    e.map(|v| v / s)
}

/// A fitted multinomial logistic regression: weights per class, biases, feature means and spreads.
pub type Fit = (Vec<Vec<f32>>, Vec<f32>, Vec<f32>, Vec<f32>);

/// Multinomial logistic regression with L2, by full-batch gradient descent on standardised
/// features; classes weighted inversely to their frequency so the rarer stances are not drowned.
pub fn fit(x: &[Vec<f32>], y: &[usize], l2: f32, iterations: usize) -> Fit {
    let n = x.len().max(1);
    let d = N_FEATURES;
    let mean: Vec<f32> = (0..d).map(|j| x.iter().map(|r| r[j]).sum::<f32>() / n as f32).collect();
    let std: Vec<f32> = (0..d)
        .map(|j| {
            (x.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f32>() / n as f32)
                .sqrt()
                .max(1e-6)
        })
        .collect();
    let z: Vec<Vec<f32>> = x
        .iter()
        .map(|r| r.iter().zip(&mean).zip(&std).map(|((v, m), s)| (v - m) / s).collect())
        .collect();
    let mut count = [0f32; 3];
    for &c in y {
        count[c] += 1.0;
    }
    let cw: [f32; 3] = count.map(|c| if c > 0.0 { n as f32 / (3.0 * c) } else { 0.0 });
    let mut w = vec![vec![0f32; d]; 3];
    let mut b = vec![0f32; 3];
    let lr = 0.2f32;
    let zero_mean = vec![0f32; d];
    let unit = vec![1f32; d];
    for _ in 0..iterations {
        let mut gw = vec![vec![0f32; d]; 3];
        let mut gb = [0f32; 3];
        for (row, &c) in z.iter().zip(y) {
            let p = probabilities(&w, &b, &zero_mean, &unit, row);
            for k in 0..3 {
                let err = (p[k] - f32::from(k == c)) * cw[c];
                gb[k] += err;
                for j in 0..d {
                    gw[k][j] += err * row[j];
                }
            }
        }
        for k in 0..3 {
            b[k] -= lr * gb[k] / n as f32;
            for j in 0..d {
                w[k][j] -= lr * (gw[k][j] / n as f32 + l2 * w[k][j]);
            }
        }
    }
    (w, b, mean, std)
}

/// Predicted class of each row under a fit.
pub fn predict(fit: &Fit, x: &[Vec<f32>]) -> Vec<usize> {
    x.iter()
        .map(|r| {
            let p = probabilities(&fit.0, &fit.1, &fit.2, &fit.3, r);
            (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(2)
        })
        .collect()
}

fn fold_of(article: &str) -> usize {
    let h = crate::corpus::sha256_hex(article.as_bytes());
    usize::from_str_radix(&h[..8], 16).unwrap_or(0) % 5
}

fn macro_f1(gold: &[usize], pred: &[usize]) -> ([f64; 3], f64, f64) {
    let mut f = [0f64; 3];
    for (c, fc) in f.iter_mut().enumerate() {
        let tp = gold.iter().zip(pred).filter(|(g, p)| **g == c && **p == c).count() as f64;
        let pp = pred.iter().filter(|p| **p == c).count() as f64;
        let gg = gold.iter().filter(|g| **g == c).count() as f64;
        let (pr, rc) = (
            if pp > 0.0 { tp / pp } else { 0.0 },
            if gg > 0.0 { tp / gg } else { 0.0 },
        );
        *fc = if pr + rc > 0.0 { 2.0 * pr * rc / (pr + rc) } else { 0.0 };
    }
    let acc = gold.iter().zip(pred).filter(|(g, p)| g == p).count() as f64 / gold.len().max(1) as f64;
    (f, f.iter().sum::<f64>() / 3.0, acc)
}

/// Trains the aggregator on labelled documents the pipeline has read (`docs`, their `stances`
/// holding the features): 5-fold cross-validation by article for the scores, then a fit on all.
/// Gold rows the pipeline gave no row are left out of training.
pub fn train(
    gold: &[super::devset::GoldStance],
    docs: &[crate::document::Document],
    trained_on: &str,
) -> Result<Aggregator> {
    let by_doc: std::collections::HashMap<&str, &crate::document::Document> =
        docs.iter().map(|d| (d.doc_id.as_str(), d)).collect();
    let mut rows: Vec<(String, Vec<f32>, usize)> = Vec::new();
    for g in gold {
        let Some(d) = by_doc.get(g.article.as_str()) else {
            continue;
        };
        if let Some(s) = d
            .stances
            .iter()
            .find(|s| s.target == g.target && s.features.len() == N_FEATURES)
        {
            rows.push((g.article.clone(), s.features.clone(), g.stance.index()));
        }
    }
    if rows.len() < 30 {
        bail!("{} labelled document-target pairs are too few to train on", rows.len());
    }
    let (l2, it) = (0.01f32, 800usize);
    let mut pred = vec![2usize; rows.len()];
    for fold in 0..5 {
        let tr: Vec<usize> = (0..rows.len()).filter(|&i| fold_of(&rows[i].0) != fold).collect();
        let te: Vec<usize> = (0..rows.len()).filter(|&i| fold_of(&rows[i].0) == fold).collect();
        if tr.is_empty() || te.is_empty() {
            continue;
        }
        let f = fit(
            &tr.iter().map(|&i| rows[i].1.clone()).collect::<Vec<_>>(),
            &tr.iter().map(|&i| rows[i].2).collect::<Vec<_>>(),
            l2,
            it,
        );
        for (&i, p) in te
            .iter()
            .zip(predict(&f, &te.iter().map(|&i| rows[i].1.clone()).collect::<Vec<_>>()))
        {
            pred[i] = p;
        }
    }
    let gold_y: Vec<usize> = rows.iter().map(|r| r.2).collect();
    let (f1, mf1, acc) = macro_f1(&gold_y, &pred);
    let (w, b, mean, std) = fit(&rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>(), &gold_y, l2, it);
    let n_documents = rows
        .iter()
        .map(|r| r.0.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    Ok(Aggregator {
        version: AGGREGATE_VERSION,
        mean,
        std,
        weights: w,
        bias: b,
        cv_macro_f1: mf1,
        cv_accuracy: acc,
        cv_f1: f1,
        n_documents,
        n_rows: rows.len(),
        trained_on: trained_on.to_string(),
    })
}
