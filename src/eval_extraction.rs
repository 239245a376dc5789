//! `rhetor eval extraction`: scores the article text rhetor extracts from web pages against gold
//! data in two layouts, and measures pages per second.
//!
//! - **Snippets** (trafilatura's evaluation, `../shared/data/extraction/`): `pages/NAME.html` and
//!   `expectations.jsonl`, one object per page with `with` snippets the text must contain and
//!   `without` snippets it must not. Both sides have white-space runs folded to one space and are
//!   trimmed; a snippet is present when it is a substring (case matters). Found `with` = true
//!   positive, missing `with` = false negative, present `without` = false positive; counts are
//!   summed over pages (micro average), F1 = 2TP / (2TP + FP + FN).
//! - **Benchmark** (the article-extraction benchmarks' layout): `ground-truth.json`, an object
//!   mapping page ids to `{"articleBody": ...}`, beside `html/ID.html`. Texts are split into
//!   `\w+` tokens (case kept) and compared as multisets of n-grams of `--ngram` tokens (4 by
//!   default, as those benchmarks do; 1 gives plain token scores). Per page, tp, fp and fn are
//!   normalised to shares of their sum; page precision is 1 when fp = fn = 0, 0 when tp = fp = 0,
//!   else tp/(tp+fp) (recall likewise with fn); precision and recall are means over the pages
//!   with output and with gold text, and F1 = 2PR/(P+R).
//!
//! The text scored is exactly what `analyze` writes for an HTML file (`corpus::read_html_page`):
//! main-content extraction, then the shared cleaning.

use crate::corpus::{self, rules::Rules};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    Snippets,
    Benchmark,
}

struct Page {
    id: String,
    html: String,
    /// Snippets layout: the gold title, authors ("; "-joined) and date (YYYY-MM-DD), when given.
    meta: [Option<String>; 3],
    /// Snippets layout.
    with: Vec<String>,
    without: Vec<String>,
    /// Benchmark layout.
    gold: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PageScore {
    pub id: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Snippets layout: the `with` snippets missed and the `without` snippets present.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missed: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub leaked: Vec<String>,
    pub chars: usize,
    /// The title, authors and date rhetor read from the page.
    pub metadata: [Option<String>; 3],
}

#[derive(Debug, Clone, Serialize)]
pub struct MetadataScores {
    pub title: (f64, usize),
    pub author: (f64, usize),
    pub date: (f64, usize),
}

#[derive(Debug, Clone, Serialize)]
pub struct ExtractionScores {
    pub layout: Layout,
    pub pages: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Snippets layout: summed counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<[usize; 4]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ngram: Option<usize>,
    pub pages_without_text: usize,
    /// Snippets layout: share of pages whose title, authors and date match the gold (over the
    /// pages that give one), and how many pages give one.
    pub metadata: Option<MetadataScores>,
    pub pages_per_second: f64,
    /// Seconds of each timed pass over all pages (extraction only; files read beforehand).
    pub pass_seconds: Vec<f64>,
    pub per_page: Vec<PageScore>,
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(corpus::decode::decode(&bytes)
        .with_context(|| format!("{}: cannot decode", path.display()))?
        .text)
}

fn load(dir: &Path) -> Result<(Layout, Vec<Page>)> {
    if dir.join("expectations.jsonl").is_file() {
        let text = std::fs::read_to_string(dir.join("expectations.jsonl"))?;
        let mut pages = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).with_context(|| format!("expectations.jsonl line {}", i + 1))?;
            let file = v["file"]
                .as_str()
                .context("expectations.jsonl: a line has no \"file\"")?;
            let strings = |k: &str| -> Vec<String> {
                v[k].as_array()
                    .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                    .unwrap_or_default()
            };
            let author = match &v["author"] {
                Value::String(a) => Some(a.clone()),
                Value::Array(a) => Some(a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("; ")),
                _ => None,
            };
            pages.push(Page {
                id: file.trim_end_matches(".html").to_string(),
                html: read_text(&dir.join("pages").join(file))?,
                meta: [
                    v["title"].as_str().map(str::to_string),
                    author,
                    v["date"].as_str().map(str::to_string),
                ],
                with: strings("with"),
                without: strings("without"),
                gold: String::new(),
            });
        }
        return Ok((Layout::Snippets, pages));
    }
    if dir.join("ground-truth.json").is_file() {
        let gt: serde_json::Map<String, Value> = serde_json::from_slice(&std::fs::read(dir.join("ground-truth.json"))?)
            .context("ground-truth.json is not a JSON object")?;
        let mut ids: Vec<&String> = gt.keys().collect();
        ids.sort();
        let mut pages = Vec::new();
        for id in ids {
            let gold = gt[id]["articleBody"].as_str().unwrap_or("").to_string();
            let field = |k: &str| gt[id][k].as_str().map(str::to_string);
            pages.push(Page {
                id: id.clone(),
                html: read_text(&dir.join("html").join(format!("{id}.html")))?,
                // Optional gold metadata beside the text (our own sets carry authors).
                meta: [field("title"), field("author"), field("date")],
                with: vec![],
                without: vec![],
                gold,
            });
        }
        return Ok((Layout::Benchmark, pages));
    }
    bail!(
        "{} is neither a snippets folder (expectations.jsonl + pages/) nor a benchmark folder (ground-truth.json + html/)",
        dir.display()
    )
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

fn shingles(text: &str, n: usize) -> HashMap<Vec<&str>, usize> {
    static WORD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| regex::Regex::new(r"\w+").unwrap());
    let tokens: Vec<&str> = WORD.find_iter(text).map(|m| m.as_str()).collect();
    let mut out = HashMap::new();
    if tokens.is_empty() {
        return out;
    }
    let count = tokens.len().saturating_sub(n).saturating_add(1).max(1);
    for i in 0..count {
        *out.entry(tokens[i..(i + n).min(tokens.len())].to_vec()).or_default() += 1;
    }
    out
}

/// (tp, fp, fn) of one page as shares of their sum.
fn shingle_counts(gold: &str, pred: &str, n: usize) -> (f64, f64, f64) {
    let g = shingles(gold, n);
    let p = shingles(pred, n);
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    for (k, &gc) in &g {
        let pc = p.get(k).copied().unwrap_or(0);
        tp += gc.min(pc);
        fn_ += gc.saturating_sub(pc);
    }
    for (k, &pc) in &p {
        fp += pc.saturating_sub(g.get(k).copied().unwrap_or(0));
    }
    let total = (tp + fp + fn_) as f64;
    if total == 0.0 {
        return (0.0, 0.0, 0.0);
    }
    (tp as f64 / total, fp as f64 / total, fn_ as f64 / total)
}

/// Extracts every page `repeat` times (timed) and scores the first pass.
pub fn evaluate(
    dir: &Path,
    rules: &Rules,
    ngram: usize,
    repeat: usize,
    out: Option<&Path>,
) -> Result<ExtractionScores> {
    let (layout, pages) = load(dir)?;
    if pages.is_empty() {
        bail!("{}: no pages", dir.display());
    }
    let mut texts: Vec<String> = Vec::new();
    let mut metas: Vec<[Option<String>; 3]> = Vec::new();
    let mut pass_seconds = Vec::new();
    for pass in 0..repeat.max(1) {
        let started = Instant::now();
        let this: Vec<(corpus::metadata::MetaSource, corpus::blocks::Cleaned)> = pages
            .iter()
            .map(|p| corpus::read_html_page(&p.html, rules, &[]))
            .collect();
        pass_seconds.push(started.elapsed().as_secs_f64());
        if pass == 0 {
            for (m, c) in this {
                let authors = if m.authors.is_empty() {
                    c.authors.clone()
                } else {
                    m.authors.clone()
                };
                metas.push([
                    m.title.or(c.title),
                    (!authors.is_empty()).then(|| authors.join("; ")),
                    m.date_raw
                        .or(c.date_raw)
                        .and_then(|d| corpus::metadata::normalize_date(&d)),
                ]);
                texts.push(c.text);
            }
        }
    }
    let fold = |s: &str| squash(s).to_lowercase();
    // Authors compare as sets of names, whatever joins them ("A and B", "A, B", "A; B").
    let names = |s: &str| -> std::collections::BTreeSet<String> {
        s.to_lowercase()
            .replace(" and ", ";")
            .split([';', ','])
            .map(squash)
            .filter(|n| !n.is_empty())
            .collect()
    };
    let metadata = pages.iter().any(|p| p.meta.iter().any(Option::is_some)).then(|| {
        let share = |k: usize| {
            let judged: Vec<bool> = pages
                .iter()
                .zip(&metas)
                .filter_map(|(p, m)| {
                    let gold = p.meta[k].as_ref()?;
                    Some(m[k].as_ref().is_some_and(|got| {
                        if k == 1 {
                            names(got) == names(gold)
                        } else {
                            fold(got) == fold(gold)
                        }
                    }))
                })
                .collect();
            (
                ratio(judged.iter().filter(|&&b| b).count() as f64, judged.len() as f64),
                judged.len(),
            )
        };
        MetadataScores {
            title: share(0),
            author: share(1),
            date: share(2),
        }
    });
    if let Some(out) = out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        for (p, t) in pages.iter().zip(&texts) {
            std::fs::write(out.join(format!("{}.txt", p.id)), t)?;
        }
    }
    let mut sorted = pass_seconds.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let mut per_page = Vec::new();
    let pages_without_text = texts.iter().filter(|t| t.trim().is_empty()).count();
    let (precision, recall, f1, counts) = match layout {
        Layout::Snippets => {
            let mut c = [0usize; 4]; // tp, fp, fn, tn
            for (p, t) in pages.iter().zip(&texts) {
                let body = squash(t);
                let missed: Vec<String> = p.with.iter().filter(|s| !body.contains(&squash(s))).cloned().collect();
                let leaked: Vec<String> = p
                    .without
                    .iter()
                    .filter(|s| body.contains(&squash(s)))
                    .cloned()
                    .collect();
                let tp = p.with.len() - missed.len();
                let (fp, fn_) = (leaked.len(), missed.len());
                c[0] += tp;
                c[1] += fp;
                c[2] += fn_;
                c[3] += p.without.len() - fp;
                per_page.push(PageScore {
                    id: p.id.clone(),
                    precision: ratio(tp as f64, (tp + fp) as f64),
                    recall: ratio(tp as f64, (tp + fn_) as f64),
                    f1: ratio(2.0 * tp as f64, (2 * tp + fp + fn_) as f64),
                    missed,
                    leaked,
                    chars: t.chars().count(),
                    metadata: Default::default(),
                });
            }
            let [tp, fp, fn_, _] = c.map(|x| x as f64);
            (
                ratio(tp, tp + fp),
                ratio(tp, tp + fn_),
                ratio(2.0 * tp, 2.0 * tp + fp + fn_),
                Some(c),
            )
        }
        Layout::Benchmark => {
            let (mut p_sum, mut p_n, mut r_sum, mut r_n) = (0.0, 0usize, 0.0, 0usize);
            for (p, t) in pages.iter().zip(&texts) {
                let (tp, fp, fn_) = shingle_counts(&p.gold, t, ngram);
                let page_p = if fp == 0.0 && fn_ == 0.0 {
                    1.0
                } else if tp == 0.0 && fp == 0.0 {
                    0.0
                } else {
                    tp / (tp + fp)
                };
                let page_r = if fp == 0.0 && fn_ == 0.0 {
                    1.0
                } else if tp == 0.0 && fn_ == 0.0 {
                    0.0
                } else {
                    tp / (tp + fn_)
                };
                if tp + fp > 0.0 {
                    p_sum += page_p;
                    p_n += 1;
                }
                if tp + fn_ > 0.0 {
                    r_sum += page_r;
                    r_n += 1;
                }
                per_page.push(PageScore {
                    id: p.id.clone(),
                    precision: page_p,
                    recall: page_r,
                    f1: ratio(2.0 * page_p * page_r, page_p + page_r),
                    missed: vec![],
                    leaked: vec![],
                    chars: t.chars().count(),
                    metadata: Default::default(),
                });
            }
            let (pr, rc) = (ratio(p_sum, p_n as f64), ratio(r_sum, r_n as f64));
            (pr, rc, ratio(2.0 * pr * rc, pr + rc), None)
        }
    };
    for (p, m) in per_page.iter_mut().zip(metas) {
        p.metadata = m;
    }
    Ok(ExtractionScores {
        layout,
        pages: pages.len(),
        precision,
        recall,
        f1,
        counts,
        ngram: (layout == Layout::Benchmark).then_some(ngram),
        pages_without_text,
        metadata,
        pages_per_second: pages.len() as f64 / median.max(1e-9),
        pass_seconds,
        per_page,
    })
}

/// The folder of a data set given as the folder itself or a file in it.
pub fn dataset_dir(p: &Path) -> PathBuf {
    if p.is_file() {
        p.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        p.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shingles_like_the_benchmarks() {
        // Fewer tokens than n: one short shingle.
        assert_eq!(shingles("a b", 4).len(), 1);
        assert_eq!(shingles("", 4).len(), 0);
        assert_eq!(shingles("a b c d e", 4).len(), 2);
        let (tp, fp, fn_) = shingle_counts("one two three four five", "one two three four", 4);
        assert!((tp - 0.5).abs() < 1e-9 && fp == 0.0 && (fn_ - 0.5).abs() < 1e-9);
    }
}
