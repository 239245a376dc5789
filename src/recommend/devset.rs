//! The hand-labelled recommendation sets (`data/recommend/`, conventions in its `GUIDE.md`) as
//! documents the pipeline can read: op-eds (`opeds.tsv`, every sentence of 66 articles) are
//! rebuilt from their sentences in order; State of the Union sentences (`sentences.tsv`) are found
//! in their transcripts (`data/corpus/sotu/`), so both are read in their real context. Scores
//! count sentences: a sentence is predicted a recommendation when rhetor finds one in it whose
//! speaker is the author.

use crate::document::{Document, Format};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Genre {
    Oped,
    Speech,
}

impl Genre {
    pub fn as_str(self) -> &'static str {
        match self {
            Genre::Oped => "op-eds",
            Genre::Speech => "speeches",
        }
    }
}

/// One labelled sentence.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub genre: Genre,
    /// The article (op-eds) or transcript file (speeches) it comes from: the unit of
    /// cross-validation folds.
    pub article: String,
    pub text: String,
    pub label: bool,
    /// The guide's kind (`modal`, `prediction`, `reported`, ...), when given.
    pub kind: String,
}

fn header_index(header: &str, path: &Path) -> Result<BTreeMap<String, usize>> {
    let cols: BTreeMap<String, usize> = header
        .split('\t')
        .enumerate()
        .map(|(i, c)| (c.trim().to_string(), i))
        .collect();
    for need in ["label", "sentence"] {
        if !cols.contains_key(need) {
            bail!("{}: the header has no {need:?} column", path.display());
        }
    }
    Ok(cols)
}

/// Reads a labelled TSV: the op-ed layout (`article`, `sent_id`, `label`, `kind`, ...,
/// `sentence`) or the speech layout (`label`, `sentence`, `source`).
pub fn read_tsv(path: &Path, genre: Genre) -> Result<Vec<Labelled>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines();
    let cols = header_index(lines.next().unwrap_or_default(), path)?;
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let get = |c: &str| cols.get(c).and_then(|&k| f.get(k)).map(|s| s.trim()).unwrap_or("");
        let label = match get("label") {
            "1" => true,
            "0" => false,
            other => bail!("{}:{}: label {other:?} is not 0 or 1", path.display(), i + 2),
        };
        let article = if cols.contains_key("article") {
            get("article")
        } else {
            get("source")
        };
        out.push(Labelled {
            genre,
            article: article.to_string(),
            text: get("sentence").to_string(),
            label,
            kind: get("kind").trim_end_matches('?').to_string(),
        });
    }
    Ok(out)
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A document to run the pipeline on, and which of its sentences are labelled: `(sentence index
/// in the document once segmented, index into the labelled set)`.
pub struct LabelledDocument {
    pub doc: Document,
    pub labelled: Vec<(usize, usize)>,
}

/// Builds the documents; `segment` must fill `doc.sentences` (the pipeline's segmenter) so that
/// labelled sentences can be found. Op-ed articles become one paragraph per sentence; a speech
/// is its transcript in `speech_dir` (its labelled sentences matched by text, white space
/// folded), or, without the transcript, its labelled sentences in file order.
pub fn documents(
    set: &[Labelled],
    speech_dir: Option<&Path>,
    segment: &dyn Fn(&mut Document) -> Result<()>,
) -> Result<(Vec<LabelledDocument>, Vec<usize>)> {
    let mut by_article: BTreeMap<(Genre, &str), Vec<usize>> = BTreeMap::new();
    for (i, l) in set.iter().enumerate() {
        by_article.entry((l.genre, l.article.as_str())).or_default().push(i);
    }
    let mut out = Vec::new();
    let mut unmatched = Vec::new();
    for ((genre, article), idx) in by_article {
        let transcript = match (genre, speech_dir) {
            (Genre::Speech, Some(dir)) => std::fs::read_to_string(dir.join(article)).ok(),
            _ => None,
        };
        let text = match transcript {
            Some(_) => {
                let input = crate::corpus::InputFile {
                    path: speech_dir.expect("a transcript was read").join(article),
                    format: Format::Txt,
                    gzip: false,
                };
                let reading = crate::corpus::read_file(
                    &input,
                    &crate::corpus::rules::Rules::defaults(),
                    &crate::corpus::InputLimits::default(),
                );
                match reading.documents.into_iter().next() {
                    Some(d) => d.text,
                    None => bail!("{}: no text", input.path.display()),
                }
            }
            None => idx
                .iter()
                .map(|&i| set[i].text.as_str())
                .collect::<Vec<_>>()
                .join("\n\n"),
        };
        let mut doc = Document::from_text(article, text);
        segment(&mut doc)?;
        let sentences: Vec<String> = doc.sentences.iter().map(|&s| squash(doc.slice(s))).collect();
        let mut position: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (k, s) in sentences.iter().enumerate() {
            position.entry(s.as_str()).or_default().push(k);
        }
        let mut labelled = Vec::new();
        for &i in &idx {
            let want = squash(&set[i].text);
            match position
                .get_mut(want.as_str())
                .and_then(|v| (!v.is_empty()).then(|| v.remove(0)))
            {
                Some(k) => labelled.push((k, i)),
                None => unmatched.push(i),
            }
        }
        out.push(LabelledDocument { doc, labelled });
    }
    Ok((out, unmatched))
}

/// Precision, recall and F1 of sentence decisions.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub tn: usize,
}

impl Counts {
    pub fn add(&mut self, gold: bool, predicted: bool) {
        match (gold, predicted) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }
    pub fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    pub fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

/// Scores by genre and, for reading, how each gold kind fared (recall of each kind of
/// recommendation, false alarms on each kind of non-recommendation).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SetScores {
    pub by_genre: BTreeMap<String, Counts>,
    /// kind -> (sentences, predicted a recommendation)
    pub by_kind: BTreeMap<String, (usize, usize)>,
}

impl SetScores {
    pub fn add(&mut self, l: &Labelled, predicted: bool) {
        self.by_genre
            .entry(l.genre.as_str().to_string())
            .or_default()
            .add(l.label, predicted);
        if !l.kind.is_empty() {
            let k = format!("{}:{}", if l.label { "rec" } else { "not" }, l.kind);
            let e = self.by_kind.entry(k).or_default();
            e.0 += 1;
            e.1 += usize::from(predicted);
        }
    }

    pub fn report(&self) -> String {
        let mut s = String::new();
        for (g, c) in &self.by_genre {
            s.push_str(&format!(
                "{g:<9} precision {:.3} recall {:.3} F1 {:.3} (tp {} fp {} fn {} tn {})\n",
                c.precision(),
                c.recall(),
                c.f1(),
                c.tp,
                c.fp,
                c.fn_,
                c.tn
            ));
        }
        s.push_str("by kind (gold kind: sentences, predicted recommendations):\n");
        for (k, (n, p)) in &self.by_kind {
            s.push_str(&format!("  {k:<22} {n:>5} {p:>4}\n"));
        }
        s
    }
}
