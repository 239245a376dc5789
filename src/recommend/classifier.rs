//! The learned half of recommendation finding: for every sentence where the rules found a
//! candidate, the probability that it is the author's own recommendation, from the recommendation
//! model (`super::model`: the sentence read in its context by two encoder layers of its own, with
//! the rules' features of the sentence), trained on the hand-labelled op-eds and speeches of
//! `data/recommend/` with folds by article for its cross-validated scores. The sentence is kept
//! when the probability reaches the threshold chosen by cross-validation; the rules read its
//! fields.

use super::devset::{self, Genre, Labelled};
use super::lexicon::{CueKind, Strength};
use super::rules::Recommendation;
use crate::document::Document;
use anyhow::{bail, Context, Result};
use candle_core::Tensor;
use ndarray::Array1;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Features of the sentence besides its encoder states; see [`rule_features`].
pub const N_RULE_FEATURES: usize = 30;
/// Bumped when the features change, so an old model is refused rather than misread.
pub const FEATURE_VERSION: u32 = 4;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierConfig {
    pub name: String,
    pub base_model: String,
    pub base_model_sha256: String,
    /// The shared layers under the model's own (the model's own layers start above them).
    pub layers: usize,
    /// The shared states it reads ([`crate::model::encoder::StateSource::id`]).
    #[serde(default)]
    pub states_source: String,
    #[serde(default)]
    pub feature_version: u32,
    /// A candidate sentence is a recommendation when its probability reaches this.
    #[serde(default = "half")]
    pub threshold: f32,
    pub hyper: super::model::RecHyper,
    pub train_file: String,
    pub n_examples: usize,
    pub n_positive: usize,
    /// Labelled sentences in which the rules found an author candidate (what the model reads).
    pub n_candidates: usize,
    /// Cross-validated (folds by article) sentence-level scores of the whole stage, rules and
    /// classifier, per genre: precision, recall, F1 and the counts.
    #[serde(default)]
    pub cv: std::collections::BTreeMap<String, devset::Counts>,
    pub cv_accuracy: f64,
    pub cv_precision: f64,
    pub cv_recall: f64,
    pub cv_f1: f64,
    pub train_seconds: f64,
    pub rhetor_version: String,
}

fn half() -> f32 {
    0.5
}

/// A trained classifier: the recommendation model and the decision threshold.
pub struct RecommendClassifier {
    head: super::model::RecHead,
    hidden: usize,
    pub config: ClassifierConfig,
    pub sha256: String,
}

/// Mean of the states of a sentence's subwords over all its windows.
pub fn pooled(windows: &[Tensor], hidden: usize) -> Result<Array1<f32>> {
    let mut sum = Array1::<f32>::zeros(hidden);
    let mut n = 0usize;
    for w in windows {
        let rows = w.dim(0)?;
        if rows == 0 {
            continue;
        }
        let v: Vec<f32> = w.sum(0)?.to_vec1()?;
        sum += &Array1::from(v);
        n += rows;
    }
    if n > 0 {
        sum /= n as f32;
    }
    Ok(sum)
}

const REPORTING: &[&str] = &[
    "said",
    "says",
    "say",
    "argued",
    "argues",
    "argue",
    "told",
    "tells",
    "wrote",
    "writes",
    "according",
    "claimed",
    "claims",
    "insisted",
    "insists",
    "believes",
    "believe",
    "warned",
    "warns",
    "asked",
    "added",
    "noted",
    "suggested",
];

/// Features of sentence `sid` of `doc` and of the candidates the rules found in it.
pub fn rule_features(
    doc: &Document,
    words: &[Vec<&str>],
    sid: usize,
    cands: &[&Recommendation],
) -> [f32; N_RULE_FEATURES] {
    let mut f = [0f32; N_RULE_FEATURES];
    let author: Vec<&&Recommendation> = cands.iter().filter(|r| r.speaker == "author").collect();
    let lw: Vec<String> = words[sid].iter().map(|w| w.to_lowercase()).collect();
    let has = |set: &[&str]| lw.iter().any(|w| set.contains(&w.as_str()));
    f[0] = f32::from(!author.is_empty());
    let strongest = author.iter().map(|r| r.strength).min();
    f[1] = f32::from(strongest == Some(Strength::Strong));
    f[2] = f32::from(strongest == Some(Strength::Moderate));
    f[3] = f32::from(strongest == Some(Strength::Weak));
    f[4] = f32::from(author.iter().any(|r| r.polarity == super::lexicon::Polarity::Refrain));
    f[5] = f32::from(!author.is_empty() && author.iter().all(|r| r.hedged));
    for (k, kind) in [
        CueKind::Modal,
        CueKind::Impersonal,
        CueKind::Appeal,
        CueKind::Imperative,
        CueKind::Judgement,
    ]
    .iter()
    .enumerate()
    {
        f[6 + k] = f32::from(author.iter().any(|r| r.cue_kind == *kind));
    }
    f[11] = (author.len().min(3) as f32) / 3.0;
    f[12] = f32::from(
        lw.iter()
            .rev()
            .find(|w| w.chars().any(|c| c.is_alphanumeric() || c == '?'))
            .is_some_and(|w| w == "?"),
    );
    f[13] = f32::from(lw.iter().any(|w| matches!(w.as_str(), "\"" | "“" | "”")));
    f[14] = f32::from(cands.iter().any(|r| r.speaker != "author"));
    f[15] = f32::from(has(&["we", "us", "our", "ourselves", "let's"]));
    f[16] = f32::from(has(&["i", "my", "me", "i'm", "i'd"]));
    f[17] = f32::from(has(&["you", "your", "yourself"]));
    f[18] = f32::from(has(&["if", "unless"]));
    f[19] = f32::from(has(&["not", "n't", "never", "no"]));
    f[20] = f32::from(has(&["would", "could", "might", "may"]));
    f[21] = f32::from(has(REPORTING));
    f[22] = ((1 + lw.len()) as f32).ln() / 4.0;
    f[23] = f32::from(sid == 0);
    f[24] = f32::from(sid + 1 == doc.sentences.len());
    f[25] = f32::from(sid > 0 && words[sid - 1].last().is_some_and(|w| *w == ":"));
    let letters: Vec<&&str> = words[sid]
        .iter()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .collect();
    let caps = letters
        .iter()
        .filter(|w| w.len() > 1 && w.chars().all(|c| !c.is_lowercase()))
        .count();
    f[26] = f32::from(!letters.is_empty() && caps * 2 > letters.len());
    f[27] = f32::from(!author.is_empty() && author.iter().all(|r| r.strength == Strength::Weak));
    f[28] = f32::from(sid < 3);
    // The sentence before ends inside a quotation, or introduces one.
    f[29] = f32::from(
        sid > 0
            && words[sid - 1]
                .iter()
                .filter(|w| matches!(**w, "\"" | "“" | "”"))
                .count()
                % 2
                == 1,
    );
    f
}

/// The state of word `w`'s first subword in a sentence's states (zeros when out of range).
pub fn word_state(enc: &crate::model::Encoder, words: &[&str], windows: &[Tensor], w: usize) -> Result<Array1<f32>> {
    let h = enc.hidden_size();
    let (_, word_of) = enc.tokenize_words(words)?;
    let Some(k) = word_of.iter().position(|&x| x == w) else {
        return Ok(Array1::zeros(h));
    };
    // Windows over long sentences overlap; the first window that holds the subword serves.
    let mut offset = 0usize;
    for win in windows {
        let n = win.dim(0)?;
        if k < offset + n {
            let v: Vec<f32> = win.get(k - offset)?.to_vec1()?;
            return Ok(Array1::from(v));
        }
        offset += n;
    }
    Ok(Array1::zeros(h))
}

impl RecommendClassifier {
    pub fn load(dir: &Path, source: &dyn crate::model::encoder::StateSource) -> Result<Self> {
        let enc = source.encoder();
        let config: ClassifierConfig = serde_json::from_slice(
            &std::fs::read(dir.join("config.json"))
                .with_context(|| format!("cannot read {}/config.json", dir.display()))?,
        )
        .with_context(|| format!("{}/config.json is not a recommendation classifier", dir.display()))?;
        if config.feature_version != FEATURE_VERSION {
            bail!(
                "{} was trained on features of version {}, this rhetor computes version {}; retrain it with `rhetor train recommend`",
                dir.display(),
                config.feature_version,
                FEATURE_VERSION
            );
        }
        if config.states_source != source.id() {
            bail!(
                "{} was trained on the shared states {}, but this run's are {} (another NER model?); retrain it with `rhetor train recommend --ner-model ...`",
                dir.display(),
                config.states_source,
                source.id()
            );
        }
        let sha256 = crate::model::store::sha256_file(&dir.join("model.safetensors"))?;
        Ok(Self {
            head: super::model::load_head(dir, enc, config.layers)?,
            hidden: enc.hidden_size(),
            config,
            sha256,
        })
    }

    /// Probability of each candidate sentence that it is the author's recommendation.
    pub fn probabilities(&self, inputs: &[super::model::RecInput]) -> Result<Vec<f32>> {
        super::model::predict(&self.head, inputs, self.hidden)
    }
}

/// A labelled sentence as the classifier sees it: its input when the rules found an author
/// candidate in it (else the stage says no without asking the model).
pub struct Example {
    pub genre: Genre,
    pub article: String,
    pub label: bool,
    pub input: Option<super::model::RecInput>,
}

fn fold_of(article: &str) -> usize {
    let h = crate::corpus::sha256_hex(article.as_bytes());
    usize::from_str_radix(&h[..8], 16).unwrap_or(0) % 5
}

fn counts_at_where(
    examples: &[Example],
    p: &[Option<f32>],
    t: f32,
    keep: &dyn Fn(&Example) -> bool,
) -> std::collections::BTreeMap<String, devset::Counts> {
    let mut c: std::collections::BTreeMap<String, devset::Counts> = Default::default();
    for (e, p) in examples.iter().zip(p) {
        if keep(e) {
            c.entry(e.genre.as_str().to_string())
                .or_default()
                .add(e.label, p.is_some_and(|p| p >= t));
        }
    }
    c
}

/// Trains on `examples`, scores by 5-fold cross-validation with folds by article, chooses the
/// threshold that maximises the mean of the per-genre F1 under cross-validation, and writes
/// `model.safetensors`, `config.json` and the card into `out`.
pub fn train(
    examples: &[Example],
    source: &dyn crate::model::encoder::StateSource,
    base_weights: &Path,
    layers: usize,
    hyper: &super::model::RecHyper,
    sources: &[&Path],
    out: &Path,
) -> Result<ClassifierConfig> {
    let with: Vec<usize> = (0..examples.len()).filter(|&i| examples[i].input.is_some()).collect();
    if with.len() < 20 {
        bail!("{} candidate sentences are too few to train on", with.len());
    }
    let started = std::time::Instant::now();
    let enc = source.encoder();
    let mut cv_p: Vec<Option<f32>> = vec![None; examples.len()];
    // Quick trials run fewer folds (`RHETOR_CV_FOLDS`), scoring only the sentences of those folds.
    let folds: usize = std::env::var("RHETOR_CV_FOLDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .clamp(1, 5);
    for fold in 0..folds {
        let train_idx: Vec<usize> = with
            .iter()
            .copied()
            .filter(|&i| fold_of(&examples[i].article) != fold)
            .collect();
        let test_idx: Vec<usize> = with
            .iter()
            .copied()
            .filter(|&i| fold_of(&examples[i].article) == fold)
            .collect();
        if train_idx.is_empty() || test_idx.is_empty() {
            continue;
        }
        eprintln!(
            "rhetor: cross-validation fold {} of 5 ({} training, {} held-out candidates)",
            fold + 1,
            train_idx.len(),
            test_idx.len()
        );
        let train: Vec<(&super::model::RecInput, bool)> = train_idx
            .iter()
            .map(|&i| (examples[i].input.as_ref().expect("candidate"), examples[i].label))
            .collect();
        let vars = super::model::fit(enc, base_weights, layers, &train, hyper)?;
        let head = super::model::head_of(&vars, enc, layers)?;
        let test: Vec<super::model::RecInput> = test_idx
            .iter()
            .map(|&i| examples[i].input.clone().expect("candidate"))
            .collect();
        for (&i, p) in test_idx
            .iter()
            .zip(super::model::predict(&head, &test, enc.hidden_size())?)
        {
            cv_p[i] = Some(p);
        }
    }
    // The threshold: best mean F1 over the genres, searched on a grid.
    let in_fold = |e: &Example| fold_of(&e.article) < folds;
    let mean_f1 = |t: f32| {
        let c = counts_at_where(examples, &cv_p, t, &in_fold);
        c.values().map(|c| c.f1()).sum::<f64>() / c.len().max(1) as f64
    };
    let threshold = (5..=95)
        .map(|k| k as f32 / 100.0)
        .max_by(|a, b| mean_f1(*a).total_cmp(&mean_f1(*b)).then(b.total_cmp(a)))
        .unwrap_or(0.5);
    let cv = counts_at_where(examples, &cv_p, threshold, &in_fold);
    if folds < 5 {
        for (g, c) in &cv {
            eprintln!(
                "rhetor: {folds} fold(s): {g} precision {:.3} recall {:.3} F1 {:.3}",
                c.precision(),
                c.recall(),
                c.f1()
            );
        }
        bail!("a quick trial of {folds} fold(s) writes no model");
    }
    let mut all = devset::Counts::default();
    for c in cv.values() {
        all.tp += c.tp;
        all.fp += c.fp;
        all.fn_ += c.fn_;
        all.tn += c.tn;
    }
    eprintln!("rhetor: training the final model on all {} candidates", with.len());
    let train: Vec<(&super::model::RecInput, bool)> = with
        .iter()
        .map(|&i| (examples[i].input.as_ref().expect("candidate"), examples[i].label))
        .collect();
    let vars = super::model::fit(enc, base_weights, layers, &train, hyper)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    super::model::save(&vars, &out.join("model.safetensors"))?;
    let config = ClassifierConfig {
        name: out
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "recommend".into()),
        base_model: enc.model_id.clone(),
        base_model_sha256: enc.model_sha256.clone(),
        layers,
        states_source: source.id(),
        feature_version: FEATURE_VERSION,
        threshold,
        hyper: hyper.clone(),
        train_file: sources
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        n_examples: examples.len(),
        n_positive: examples.iter().filter(|e| e.label).count(),
        n_candidates: with.len(),
        cv: cv.clone(),
        cv_accuracy: (all.tp + all.tn) as f64 / examples.len().max(1) as f64,
        cv_precision: all.precision(),
        cv_recall: all.recall(),
        cv_f1: all.f1(),
        train_seconds: started.elapsed().as_secs_f64(),
        rhetor_version: crate::VERSION.to_string(),
    };
    std::fs::write(out.join("config.json"), serde_json::to_string_pretty(&config)? + "\n")?;
    write_card(&config, out)?;
    Ok(config)
}

fn write_card(config: &ClassifierConfig, out: &Path) -> Result<()> {
    let sha = crate::model::store::sha256_file(&out.join("model.safetensors"))?;
    let mut rows = String::from("| genre | precision | recall | F1 | tp | fp | fn |\n|---|---|---|---|---|---|---|\n");
    for (g, c) in &config.cv {
        rows.push_str(&format!(
            "| {g} | {:.3} | {:.3} | {:.3} | {} | {} | {} |\n",
            c.precision(),
            c.recall(),
            c.f1(),
            c.tp,
            c.fp,
            c.fn_
        ));
    }
    let card = format!(
        "# {name}: rhetor recommendation model\n\n\
Decides, for each sentence in which the rules found a candidate recommendation (cue lexicon \
`data/recommend/cues.toml`), whether it is the author's own recommendation. It reads the \
sentence's states after the shared bottom {layers} layers of the encoder (the states the NER \
stage already computes) together with the end of the sentence before, through two encoder \
layers of its own (started from the base model's top layers), and gives one logit from the mean \
of the sentence's states, the state at the cue and {nf} features of the sentence and its \
candidates (cue kinds, strength, refraining, hedging, quotation, question, person, conditional, \
reporting verbs, position, the sentence before). A sentence is kept when its probability \
reaches {t:.2}, the threshold that maximised the mean F1 of the two genres under \
cross-validation.\n\n\
## Data\n\n\
`{file}`: {n} hand-labelled sentences ({pos} recommendations), every sentence of the labelled \
op-eds (many outlets and authors) and the State of the Union sample, labelled by \
`data/recommend/GUIDE.md`; {cand} of them hold a rule candidate and train the model.\n\n\
## Cross-validated scores (5 folds by article; the whole stage, rules and classifier)\n\n\
{rows}\n\
Sentences where the rules found no candidate count as predicted non-recommendations, so recall \
includes what the cue lexicon misses.\n\n\
## Training\n\n\
AdamW, learning rate {lr_l} (encoder layers) and {lr_h} (head), {ep} epochs, batch {bs}, \
dropout {dr}, positives weighted to balance the loss (at most 5:1), seed {seed}; \
{secs:.0} s for the five folds and the final model on 2 CPU cores; rhetor {ver}.\n\
Weights: `model.safetensors`, sha256 `{sha}`.\n\n\
Reproduce: `rhetor train recommend`.\n",
        name = config.name,
        layers = config.layers,
        nf = N_RULE_FEATURES,
        t = config.threshold,
        file = config.train_file,
        n = config.n_examples,
        pos = config.n_positive,
        rows = rows,
        cand = config.n_candidates,
        lr_l = config.hyper.lr_layers,
        lr_h = config.hyper.lr_head,
        ep = config.hyper.epochs,
        bs = config.hyper.batch_size,
        dr = config.hyper.dropout,
        seed = config.hyper.seed,
        secs = config.train_seconds,
        ver = config.rhetor_version,
        sha = sha,
    );
    std::fs::write(out.join("README.md"), card)?;
    Ok(())
}

/// The labelled sets for training and evaluation.
pub fn labelled_sets(opeds: &Path, speeches: &Path) -> Result<Vec<Labelled>> {
    let mut set = devset::read_tsv(opeds, Genre::Oped)?;
    set.extend(devset::read_tsv(speeches, Genre::Speech)?);
    Ok(set)
}
