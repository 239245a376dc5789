//! The learned half of recommendation finding: a logistic regression over the mean of a
//! sentence's frozen-layer encoder states (the very states NER computed), trained on hand-labelled
//! State of the Union sentences (`data/recommend/sentences.tsv`). It says how likely a sentence is
//! to prescribe action; the rules say what the recommendation is (see `super`).

use crate::model::encoder::SentenceStates;
use crate::model::Encoder;
use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierConfig {
    pub name: String,
    pub base_model: String,
    pub base_model_sha256: String,
    /// Encoder layers whose output is pooled (NER's frozen layers, so the states are shared).
    pub layers: usize,
    pub l2: f64,
    pub iterations: usize,
    pub train_file: String,
    pub n_examples: usize,
    pub n_positive: usize,
    /// 5-fold cross-validated scores on the training file.
    pub cv_accuracy: f64,
    pub cv_precision: f64,
    pub cv_recall: f64,
    pub cv_f1: f64,
    pub rhetor_version: String,
}

/// A trained classifier: standardisation, weights and bias.
pub struct RecommendClassifier {
    mean: Array1<f32>,
    std: Array1<f32>,
    weights: Array1<f32>,
    bias: f32,
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

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl RecommendClassifier {
    pub fn load(dir: &Path) -> Result<Self> {
        let config: ClassifierConfig = serde_json::from_slice(
            &std::fs::read(dir.join("config.json"))
                .with_context(|| format!("cannot read {}/config.json", dir.display()))?,
        )
        .with_context(|| format!("{}/config.json is not a recommendation classifier", dir.display()))?;
        let path = dir.join("model.safetensors");
        let sha256 = crate::model::store::sha256_file(&path)?;
        let t = candle_core::safetensors::load(&path, &Device::Cpu)?;
        let get = |k: &str| -> Result<Vec<f32>> {
            Ok(t.get(k)
                .with_context(|| format!("{}: no tensor {k}", path.display()))?
                .flatten_all()?
                .to_vec1()?)
        };
        Ok(Self {
            mean: Array1::from(get("mean")?),
            std: Array1::from(get("std")?),
            weights: Array1::from(get("weights")?),
            bias: get("bias")?[0],
            config,
            sha256,
        })
    }

    /// Probability that a sentence with these pooled states prescribes action.
    pub fn probability(&self, pooled: &Array1<f32>) -> f32 {
        let z = (pooled - &self.mean) / &self.std;
        sigmoid(z.dot(&self.weights) + self.bias)
    }
}

/// Reads `label<TAB>sentence[<TAB>source]` rows after a header.
pub fn read_labelled(path: &Path) -> Result<Vec<(bool, String)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let mut f = line.split('\t');
        let label = match f.next().map(str::trim) {
            Some("1") => true,
            Some("0") => false,
            other => bail!("{}:{}: label {:?} is not 0 or 1", path.display(), i + 1, other),
        };
        let sentence = f
            .next()
            .with_context(|| format!("{}:{}: no sentence", path.display(), i + 1))?;
        out.push((label, sentence.to_string()));
    }
    Ok(out)
}

/// Pooled frozen-layer states of each sentence, tokenised as `analyze` tokenises.
pub fn featurise(enc: &Encoder, layers: usize, sentences: &[String]) -> Result<Array2<f32>> {
    let h = enc.hidden_size();
    let mut x = Array2::<f32>::zeros((sentences.len(), h));
    for (chunk_i, chunk) in sentences.chunks(128).enumerate() {
        let words: Vec<Vec<&str>> = chunk
            .iter()
            .map(|s| {
                let span = crate::document::Span::new(0, s.chars().count());
                crate::text::tokenize_words(s, &[span])
                    .iter()
                    .map(|t| crate::text::slice_chars(s, t.span))
                    .collect()
            })
            .collect();
        let mut states = SentenceStates::new(layers, chunk.len());
        let all: Vec<usize> = (0..chunk.len()).collect();
        states.ensure(enc, &all, &words)?;
        for (i, st) in states.sentences.iter().enumerate() {
            let p = pooled(st.as_deref().unwrap_or(&[]), h)?;
            x.row_mut(chunk_i * 128 + i).assign(&p);
        }
    }
    Ok(x)
}

struct Fit {
    mean: Array1<f32>,
    std: Array1<f32>,
    w: Array1<f32>,
    b: f32,
}

/// L2-regularised logistic regression by full-batch gradient descent on standardised features.
fn fit(x: &Array2<f32>, y: &[bool], l2: f32, iterations: usize) -> Fit {
    let mean = x.mean_axis(Axis(0)).expect("rows");
    let std = x.std_axis(Axis(0), 0.0).mapv(|s| s.max(1e-6));
    let z = (x - &mean) / &std;
    let yv = Array1::from(y.iter().map(|&b| if b { 1.0f32 } else { 0.0 }).collect::<Vec<_>>());
    let n = x.nrows() as f32;
    let mut w = Array1::<f32>::zeros(x.ncols());
    let mut b = 0.0f32;
    let lr = 0.1f32;
    for _ in 0..iterations {
        let p = (z.dot(&w) + b).mapv(sigmoid);
        let err = &p - &yv;
        let gw = z.t().dot(&err) / n + &w * l2;
        let gb = err.sum() / n;
        w = w - gw * lr;
        b -= gb * lr;
    }
    Fit { mean, std, w, b }
}

fn predict(f: &Fit, x: &Array2<f32>) -> Vec<bool> {
    let z = (x - &f.mean) / &f.std;
    (z.dot(&f.w) + f.b).mapv(sigmoid).iter().map(|&p| p >= 0.5).collect()
}

/// Trains the classifier, scores it by 5-fold cross-validation, writes `model.safetensors`,
/// `config.json` and the model card into `out`.
pub fn train(enc: &Encoder, layers: usize, data: &Path, out: &Path) -> Result<ClassifierConfig> {
    let rows = read_labelled(data)?;
    if rows.len() < 20 {
        bail!("{}: {} labelled sentences are too few", data.display(), rows.len());
    }
    let sentences: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    let y: Vec<bool> = rows.iter().map(|r| r.0).collect();
    let x = featurise(enc, layers, &sentences)?;
    let (l2, iterations) = (0.01f32, 400usize);
    // Folds by position modulo 5 (the file interleaves years), so each fold spans the corpus.
    let (mut tp, mut fp, mut fn_, mut correct) = (0usize, 0usize, 0usize, 0usize);
    for fold in 0..5 {
        let train_idx: Vec<usize> = (0..rows.len()).filter(|i| i % 5 != fold).collect();
        let test_idx: Vec<usize> = (0..rows.len()).filter(|i| i % 5 == fold).collect();
        let f = fit(
            &x.select(Axis(0), &train_idx),
            &train_idx.iter().map(|&i| y[i]).collect::<Vec<_>>(),
            l2,
            iterations,
        );
        let pred = predict(&f, &x.select(Axis(0), &test_idx));
        for (&i, &p) in test_idx.iter().zip(&pred) {
            match (y[i], p) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fn_ += 1,
                _ => {}
            }
            correct += (y[i] == p) as usize;
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    let f = fit(&x, &y, l2, iterations);
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let h = x.ncols();
    let mut tensors = std::collections::HashMap::new();
    tensors.insert("mean".to_string(), Tensor::from_vec(f.mean.to_vec(), h, &Device::Cpu)?);
    tensors.insert("std".to_string(), Tensor::from_vec(f.std.to_vec(), h, &Device::Cpu)?);
    tensors.insert("weights".to_string(), Tensor::from_vec(f.w.to_vec(), h, &Device::Cpu)?);
    tensors.insert(
        "bias".to_string(),
        Tensor::from_vec(vec![f.b], 1, &Device::Cpu)?.to_dtype(DType::F32)?,
    );
    candle_core::safetensors::save(&tensors, out.join("model.safetensors"))?;
    let config = ClassifierConfig {
        name: out
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "recommend".into()),
        base_model: enc.model_id.clone(),
        base_model_sha256: enc.model_sha256.clone(),
        layers,
        l2: l2 as f64,
        iterations,
        train_file: data.display().to_string(),
        n_examples: rows.len(),
        n_positive: y.iter().filter(|&&b| b).count(),
        cv_accuracy: correct as f64 / rows.len() as f64,
        cv_precision: precision,
        cv_recall: recall,
        cv_f1: f1,
        rhetor_version: crate::VERSION.to_string(),
    };
    std::fs::write(out.join("config.json"), serde_json::to_string_pretty(&config)? + "\n")?;
    let sha = crate::model::store::sha256_file(&out.join("model.safetensors"))?;
    let card = format!(
        "# {name}: rhetor recommendation classifier\n\n\
Says how likely a sentence is to prescribe action (a policy recommendation). A logistic \
regression over the mean of the sentence's subword states after the frozen bottom {layers} layers \
of `{base}` — the states the NER stage already computes, so it costs no extra encoder pass.\n\n\
- Training data: `{file}`, {n} hand-labelled sentences from the State of the Union addresses \
in `data/corpus/sotu` ({pos} recommendations; most of the others are hard negatives with modal \
verbs: predictions, epistemic must, discourse markers, reported views, past events).\n\
- Standardised features, L2 {l2}, {it} full-batch gradient-descent steps.\n\
- 5-fold cross-validation on the training file (folds by row position modulo 5): accuracy \
{acc:.4}, precision {p:.4}, recall {r:.4}, F1 {f1:.4}.\n\
- Weights: `model.safetensors` ({bytes} bytes), sha256 `{sha}`.\n\n\
## How rhetor uses it\n\n\
The rules (cue lexicon and clause reading) decide what is a candidate recommendation and every \
field of it; this classifier's probability is the `score` column, and it vetoes a candidate only \
when it is confident the sentence prescribes nothing (probability below 0.1). Sentences without a \
cue are not reported even when the classifier likes them (imperatives such as \"Pass this bill.\" \
are rare in commentary and carry no actor).\n\n\
## Limits\n\n\
Presidential speeches are not op-eds: the classifier has seen few hedged or impersonal \
prescriptions and no quoted speakers.\n",
        name = config.name,
        layers = layers,
        base = config.base_model,
        file = config.train_file,
        n = config.n_examples,
        pos = config.n_positive,
        l2 = config.l2,
        it = iterations,
        acc = config.cv_accuracy,
        p = precision,
        r = recall,
        f1 = f1,
        bytes = std::fs::metadata(out.join("model.safetensors"))?.len(),
        sha = sha,
    );
    std::fs::write(out.join("README.md"), card)?;
    Ok(config)
}
