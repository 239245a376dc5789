//! Stance gold data and scoring: the SemEval-2016 task 6 folder layout and VAST-format CSV files.

pub use crate::document::Stance;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

impl Stance {
    pub const ALL: [Stance; 3] = [Stance::Against, Stance::Favor, Stance::Neutral];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(i: usize) -> Self {
        Self::ALL[i]
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Against => "against",
            Self::Favor => "favor",
            Self::Neutral => "neutral",
        }
    }
}

/// One gold example: a text, the target it is about, and the author's stance toward it.
#[derive(Debug, Clone, PartialEq)]
pub struct StanceExample {
    pub target: String,
    pub text: String,
    pub stance: Stance,
}

/// The two gold layouts `rhetor eval stance` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `TARGET/SPLIT_text.txt` + `TARGET/SPLIT_labels.txt`, labels 0 none, 1 against, 2 favor.
    SemEval,
    /// CSV with columns Tweet, Target, Stance: 0 con, 1 pro, 2 neutral.
    Vast,
}

/// The target a SemEval folder stands for (the task's target names).
pub fn semeval_target(folder: &str) -> String {
    match folder {
        "abortion" => "legalization of abortion".into(),
        "atheism" => "atheism".into(),
        "climate" => "climate change is a real concern".into(),
        "feminist" => "feminist movement".into(),
        "hillary" => "Hillary Clinton".into(),
        other => other.replace(['_', '-'], " "),
    }
}

/// Every task's tweets carry this hashtag, which says nothing about stance.
fn clean_tweet(text: &str) -> String {
    text.replace("#SemST", "").trim().to_string()
}

/// Reads `SPLIT` of every target folder under `dir` (folders in name order).
pub fn read_semeval(dir: &Path, split: &str) -> Result<Vec<StanceExample>> {
    let mut folders: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the folder {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    let mut out = Vec::new();
    let mut found = false;
    for folder in folders {
        let texts_path = folder.join(format!("{split}_text.txt"));
        let labels_path = folder.join(format!("{split}_labels.txt"));
        if !texts_path.is_file() && !labels_path.is_file() {
            continue;
        }
        found = true;
        let read = |p: &Path| -> Result<Vec<String>> {
            let s = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
            Ok(s.lines().map(|l| l.to_string()).collect())
        };
        let texts = read(&texts_path)?;
        let labels = read(&labels_path)?;
        if texts.len() != labels.len() {
            bail!(
                "{} has {} lines but {} has {}",
                texts_path.display(),
                texts.len(),
                labels_path.display(),
                labels.len()
            );
        }
        let name = folder.file_name().unwrap_or_default().to_string_lossy().to_string();
        let target = semeval_target(&name);
        for (i, (text, label)) in texts.iter().zip(&labels).enumerate() {
            let stance = match label.trim() {
                "0" => Stance::Neutral,
                "1" => Stance::Against,
                "2" => Stance::Favor,
                other => bail!(
                    "{}:{}: label {other:?} is not 0 (none), 1 (against) or 2 (favor)",
                    labels_path.display(),
                    i + 1
                ),
            };
            out.push(StanceExample {
                target: target.clone(),
                text: clean_tweet(text),
                stance,
            });
        }
    }
    if !found {
        bail!(
            "{} holds no TARGET/{split}_text.txt and TARGET/{split}_labels.txt files (SemEval-2016 layout)",
            dir.display()
        );
    }
    Ok(out)
}

/// Reads a VAST-format CSV: columns Tweet (or post), Target (or topic_str), Stance (or label).
pub fn read_vast(path: &Path) -> Result<Vec<StanceExample>> {
    read_csv(
        path,
        [
            &["Tweet", "post", "text"],
            &["Target", "topic_str", "target"],
            &["Stance", "label", "stance"],
        ],
        "a VAST-format CSV needs the columns Tweet, Target and Stance",
        |label| match label {
            "0" => Some(Stance::Against),
            "1" => Some(Stance::Favor),
            "2" => Some(Stance::Neutral),
            _ => None,
        },
        "0 (con), 1 (pro) or 2 (neutral)",
    )
}

/// Reads extra training data in the plain layout: a CSV with `text`, `target` and `stance`
/// (`favor`, `against` or `neutral`) columns. At most `max` rows are kept, evenly spaced over the
/// file, so every topic it holds is represented.
pub fn read_plain(path: &Path, max: usize) -> Result<Vec<StanceExample>> {
    let all = read_csv(
        path,
        [&["text"], &["target"], &["stance"]],
        "stance training data needs the columns text, target and stance",
        |label| match label {
            "favor" | "favour" | "pro" => Some(Stance::Favor),
            "against" | "con" => Some(Stance::Against),
            "neutral" | "none" => Some(Stance::Neutral),
            _ => None,
        },
        "favor, against or neutral",
    )?;
    if all.len() <= max {
        return Ok(all);
    }
    let step = all.len() as f64 / max as f64;
    Ok((0..max).map(|k| all[(k as f64 * step) as usize].clone()).collect())
}

/// A stance CSV whose text, target and stance columns go by one of the given names each, its
/// labels read by `label`; `needs` and `labels` say what was expected when the file is wrong.
fn read_csv(
    path: &Path,
    names: [&[&str]; 3],
    needs: &str,
    label: fn(&str) -> Option<Stance>,
    labels: &str,
) -> Result<Vec<StanceExample>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("{}: no header row", path.display()))?
        .clone();
    let find = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim()));
    let (Some(text_col), Some(target_col), Some(stance_col)) = (find(names[0]), find(names[1]), find(names[2])) else {
        bail!(
            "{}: {needs}; found {:?}",
            path.display(),
            headers.iter().collect::<Vec<_>>()
        );
    };
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.with_context(|| format!("{}: record {}", path.display(), i + 1))?;
        let raw = row.get(stance_col).unwrap_or("").trim();
        let Some(stance) = label(raw) else {
            bail!("{}: record {}: stance {raw:?} is not {labels}", path.display(), i + 1);
        };
        out.push(StanceExample {
            target: row.get(target_col).unwrap_or("").trim().to_string(),
            text: row.get(text_col).unwrap_or("").trim().to_string(),
            stance,
        });
    }
    Ok(out)
}

/// Reads gold data in either layout: a folder is SemEval, a file is VAST.
pub fn read_any(path: &Path, split: &str) -> Result<(Layout, Vec<StanceExample>)> {
    if path.is_dir() {
        Ok((Layout::SemEval, read_semeval(path, split)?))
    } else if path.is_file() {
        Ok((Layout::Vast, read_vast(path)?))
    } else {
        bail!("{} does not exist", path.display())
    }
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ClassScore {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub gold: usize,
    pub predicted: usize,
}

fn class_score(gold: &[Stance], pred: &[Stance], class: Stance) -> ClassScore {
    let g = gold.iter().filter(|&&s| s == class).count();
    let p = pred.iter().filter(|&&s| s == class).count();
    let tp = gold
        .iter()
        .zip(pred)
        .filter(|(a, b)| **a == class && **b == class)
        .count();
    let precision = if p == 0 { 0.0 } else { tp as f64 / p as f64 };
    let recall = if g == 0 { 0.0 } else { tp as f64 / g as f64 };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    ClassScore {
        precision,
        recall,
        f1,
        gold: g,
        predicted: p,
    }
}

/// Scores of a set of predictions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Scores {
    pub n: usize,
    pub accuracy: f64,
    /// SemEval-2016's measure: the mean of F1-favor and F1-against.
    pub f_avg: f64,
    /// The mean F1 over the three classes.
    pub macro_f1: f64,
    pub favor: ClassScore,
    pub against: ClassScore,
    pub neutral: ClassScore,
}

pub fn score(gold: &[Stance], pred: &[Stance]) -> Scores {
    let favor = class_score(gold, pred, Stance::Favor);
    let against = class_score(gold, pred, Stance::Against);
    let neutral = class_score(gold, pred, Stance::Neutral);
    let correct = gold.iter().zip(pred).filter(|(a, b)| a == b).count();
    Scores {
        n: gold.len(),
        accuracy: if gold.is_empty() {
            0.0
        } else {
            correct as f64 / gold.len() as f64
        },
        f_avg: (favor.f1 + against.f1) / 2.0,
        macro_f1: (favor.f1 + against.f1 + neutral.f1) / 3.0,
        favor,
        against,
        neutral,
    }
}

/// Scores over all examples together, and per target (targets in name order).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Evaluation {
    pub overall: Scores,
    pub per_target: BTreeMap<String, Scores>,
}

pub fn evaluate(gold: &[StanceExample], pred: &[Stance]) -> Evaluation {
    let g: Vec<Stance> = gold.iter().map(|e| e.stance).collect();
    let mut by_target: BTreeMap<String, (Vec<Stance>, Vec<Stance>)> = BTreeMap::new();
    for (e, &p) in gold.iter().zip(pred) {
        let entry = by_target.entry(e.target.clone()).or_default();
        entry.0.push(e.stance);
        entry.1.push(p);
    }
    Evaluation {
        overall: score(&g, pred),
        per_target: by_target.into_iter().map(|(t, (g, p))| (t, score(&g, &p))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Stance::*;

    #[test]
    fn f_avg_is_the_mean_of_favor_and_against_f1() {
        let gold = [Favor, Favor, Against, Against, Neutral, Neutral];
        let pred = [Favor, Against, Against, Against, Neutral, Favor];
        let s = score(&gold, &pred);
        // favor: P 1/2, R 1/2 -> F1 0.5; against: P 2/3, R 1 -> 0.8; neutral: P 1, R 1/2 -> 2/3
        assert!((s.favor.f1 - 0.5).abs() < 1e-9);
        assert!((s.against.f1 - 0.8).abs() < 1e-9);
        assert!((s.f_avg - 0.65).abs() < 1e-9);
        assert!((s.macro_f1 - (0.5 + 0.8 + 2.0 / 3.0) / 3.0).abs() < 1e-9);
        assert!((s.accuracy - 4.0 / 6.0).abs() < 1e-9);
    }
}
