//! The stance model: a late-fusion cross-encoder on the shared encoder.
//!
//! The text and the target each go through the frozen bottom layers of all-MiniLM-L6-v2 on their
//! own (so the text's pass is the very one NER already ran, and a target's is computed once per
//! run); the trained top layers then read `[target ; text]` together, with a learned segment
//! vector marking which is which, so attention can relate the two. The target is free text: any
//! target works, not only those seen in training. Output: against, favor, neutral.

use super::data::{Stance, StanceExample};
use crate::model::bert::{forward_stack, Bert, BertLayer};
use crate::model::encoder::StateSource;
use crate::model::train::{dropout, init_vars, optimizers, save_weights, stack_padded, SplitMix};
use crate::model::Encoder;
use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, IndexOp, Tensor, D};
use candle_nn::{embedding, linear, Embedding, Linear, Module, Optimizer, VarBuilder, VarMap};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StanceHyper {
    pub trained_layers: usize,
    pub epochs: usize,
    pub patience: usize,
    pub batch_size: usize,
    pub lr_layers: f64,
    pub lr_head: f64,
    pub weight_decay: f64,
    pub dropout: f32,
    pub seed: u64,
    /// Share of the VAST file kept aside for development (every k-th row).
    pub vast_dev_share: f64,
    /// Train on at most this many examples (for quick tests).
    pub max_examples: Option<usize>,
    /// At the end, average the weights of the best this-many epochs (by the development measure)
    /// and keep the average if it scores better than the best single epoch; 1 turns it off.
    #[serde(default = "default_average_best")]
    pub average_best: usize,
}

fn default_average_best() -> usize {
    1
}

impl Default for StanceHyper {
    fn default() -> Self {
        Self {
            trained_layers: 2,
            epochs: 8,
            patience: 3,
            batch_size: 16,
            lr_layers: 5e-5,
            lr_head: 5e-4,
            weight_decay: 0.01,
            dropout: 0.1,
            seed: 17,
            vast_dev_share: 0.2,
            max_examples: None,
            average_best: 2,
        }
    }
}

/// `config.json` of a trained stance model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StanceConfig {
    pub name: String,
    pub base_model: String,
    pub base_model_sha256: String,
    pub frozen_layers: usize,
    pub classes: Vec<String>,
    pub hyper: StanceHyper,
    pub train_sources: Vec<String>,
    pub train_examples: usize,
    pub epochs_run: usize,
    pub best_epoch: usize,
    /// Development scores at the best epoch: SemEval F_avg and VAST macro F1.
    pub dev_semeval: Option<super::data::Evaluation>,
    pub dev_vast: Option<super::data::Evaluation>,
    pub train_seconds: f64,
    pub rhetor_version: String,
    /// The development measure (SemEval F_avg, else VAST macro F1) after each epoch.
    #[serde(default)]
    pub epoch_scores: Vec<f64>,
    /// When the shipped weights are an average of several epochs' weights: which epochs.
    #[serde(default)]
    pub averaged_epochs: Vec<usize>,
    /// Anything else a reader of the model card should know about how this copy was made.
    #[serde(default)]
    pub notes: Option<String>,
    /// The shared states it reads ([`crate::model::encoder::StateSource::id`]). Absent in older
    /// models, which read the base encoder's frozen layers and their targets with `[CLS]`/`[SEP]`.
    #[serde(default)]
    pub states_source: Option<String>,
}

/// The trained part: segment vectors, the top encoder layers, and the classifier.
pub struct StanceHead {
    segment: Embedding,
    layers: Vec<BertLayer>,
    out: Linear,
}

impl StanceHead {
    fn new(vb: VarBuilder, base: &Bert, frozen: usize, trainable: bool) -> Result<Self> {
        let h = base.config.hidden_size;
        let layers = (frozen..base.config.num_hidden_layers)
            .map(|i| {
                let vb = vb.pp(format!("encoder.layer.{i}"));
                if trainable {
                    BertLayer::load_trainable(vb, &base.config)
                } else {
                    // Kept in fp32 under --precision int8: quantised with the encoder, these two
                    // layers took SemEval val F_avg from 0.702 to 0.685, past the half point
                    // allowed; with only the encoder below them in int8 it reads 0.707.
                    BertLayer::load_precision(vb, &base.config, crate::model::fast::Precision::Fp32)
                }
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            segment: embedding(2, h, vb.pp("stance.segment"))?,
            layers,
            out: linear(2 * h, 3, vb.pp("stance.out"))?,
        })
    }

    /// Logits [batch, 3]. `target`: [b, tt, h] frozen states of `[CLS] target [SEP]`; `text`:
    /// [b, tx, h] frozen states of the text's subwords; masks [b, tt] and [b, tx].
    fn forward(
        &self,
        target: &Tensor,
        target_mask: &Tensor,
        text: &Tensor,
        text_mask: &Tensor,
        drop: Option<(f32, &mut SplitMix)>,
    ) -> Result<Tensor> {
        let dev = target.device();
        let seg = self.segment.forward(&Tensor::new(&[0u32, 1], dev)?)?;
        let x = Tensor::cat(&[target.broadcast_add(&seg.i(0)?)?, text.broadcast_add(&seg.i(1)?)?], 1)?;
        let mask = Tensor::cat(&[target_mask, text_mask], 1)?;
        let bias = Bert::mask_bias(&mask)?;
        let x = forward_stack(&self.layers, x, &bias)?;
        let tt = target.dim(1)?;
        let tx = text.dim(1)?;
        let cls = x.i((.., 0, ..))?;
        let m = text_mask.to_dtype(DType::F32)?.unsqueeze(D::Minus1)?;
        let text_states = x.narrow(1, tt, tx)?;
        let mean = text_states
            .broadcast_mul(&m)?
            .sum(1)?
            .broadcast_div(&m.sum(1)?.clamp(1.0, f64::MAX)?)?;
        let mut z = Tensor::cat(&[cls, mean], D::Minus1)?;
        if let Some((p, rng)) = drop {
            z = dropout(&z, p, rng)?;
        }
        Ok(self.out.forward(&z)?)
    }
}

/// Frozen-layer states of one text piece, special tokens included for targets and excluded for
/// texts ([n, hidden]).
pub type States = Tensor;

/// A loaded stance model.
pub struct StanceModel {
    head: StanceHead,
    pub config: StanceConfig,
    pub dir: PathBuf,
    pub sha256: String,
}

/// Class probabilities (against, favor, neutral).
pub type Probs = [f32; 3];

impl StanceModel {
    /// The shared states the model in `dir` reads (`base:N` or a NER model's `ner:...`), from its
    /// configuration, so the run can give it the right ones before loading it.
    pub fn states_needed(dir: &Path) -> Result<String> {
        let config: StanceConfig = serde_json::from_slice(
            &std::fs::read(dir.join("config.json"))
                .with_context(|| format!("cannot read {}/config.json", dir.display()))?,
        )
        .with_context(|| format!("{}/config.json is not a rhetor stance configuration", dir.display()))?;
        Ok(config
            .states_source
            .unwrap_or_else(|| format!("base:{}", config.frozen_layers)))
    }

    pub fn load(dir: &Path, source: &dyn StateSource) -> Result<Self> {
        let enc = source.encoder();
        let config: StanceConfig =
            serde_json::from_slice(&std::fs::read(dir.join("config.json")).with_context(|| {
                format!(
                    "cannot read {}/config.json; is this a rhetor stance model?",
                    dir.display()
                )
            })?)
            .with_context(|| format!("{}/config.json is not a rhetor stance configuration", dir.display()))?;
        if config.base_model != enc.model_id {
            bail!(
                "{} was trained on {}, but the encoder is {}",
                dir.display(),
                config.base_model,
                enc.model_id
            );
        }
        let wanted = config
            .states_source
            .clone()
            .unwrap_or_else(|| format!("base:{}", config.frozen_layers));
        if wanted != source.id() {
            bail!(
                "{} was trained on the shared states {wanted}, but this run's are {} (another NER model?); retrain it with `rhetor train stance --ner-model ...`",
                dir.display(),
                source.id()
            );
        }
        let weights = dir.join("model.safetensors");
        let sha256 = crate::model::store::sha256_file(&weights)?;
        // SAFETY: read-only memory map of a file rhetor does not modify while it is mapped.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &Device::Cpu)? };
        let head = StanceHead::new(vb, &enc.bert, config.frozen_layers, false)?;
        Ok(Self {
            head,
            config,
            dir: dir.to_path_buf(),
            sha256,
        })
    }

    /// Shared states of a target description (older models: frozen states of `[CLS] target [SEP]`).
    pub fn encode_target(&self, source: &dyn StateSource, target: &str) -> Result<States> {
        if self.config.states_source.is_none() {
            return encode_target_frozen(source.encoder(), self.config.frozen_layers, target);
        }
        encode_target_shared(source, target)
    }

    /// Shared states of each window of each text (subwords only), windows of the encoder's size.
    pub fn encode_texts(&self, source: &dyn StateSource, texts: &[&str]) -> Result<Vec<Vec<States>>> {
        if self.config.states_source.is_none() {
            let enc = source.encoder();
            let subs: Vec<Vec<u32>> = texts
                .iter()
                .map(|t| enc.tokenize(t).map(|s| s.ids))
                .collect::<Result<_>>()?;
            return enc.frozen_states(self.config.frozen_layers, &subs);
        }
        let words: Vec<Vec<&str>> = texts.iter().map(|t| crate::text::words_of(t)).collect();
        source.states(&words)
    }

    /// Probabilities for each (target states, text states) pair, in batches.
    pub fn classify(&self, pairs: &[(&States, &States)]) -> Result<Vec<Probs>> {
        let mut out = vec![[0f32; 3]; pairs.len()];
        let mut order: Vec<usize> = (0..pairs.len()).collect();
        order.sort_by_key(|&i| (pairs[i].1.dim(0).unwrap_or(0), i));
        for batch in order.chunks(16) {
            let (tg, tm) = stack_padded(batch.iter().map(|&i| pairs[i].0))?;
            let (tx, xm) = stack_padded(batch.iter().map(|&i| pairs[i].1))?;
            let logits = self.head.forward(&tg, &tm, &tx, &xm, None)?;
            let probs = candle_nn::ops::softmax_last_dim(&logits)?.to_vec2::<f32>()?;
            for (r, &i) in batch.iter().enumerate() {
                out[i] = [probs[r][0], probs[r][1], probs[r][2]];
            }
        }
        Ok(out)
    }

    /// The stance of each text toward its target; long texts average over their windows.
    pub fn predict(&self, enc: &dyn StateSource, examples: &[(&str, &str)]) -> Result<Vec<Probs>> {
        let mut targets: Vec<&str> = examples.iter().map(|e| e.0).collect();
        targets.sort();
        targets.dedup();
        let target_states: Vec<States> = targets
            .iter()
            .map(|t| self.encode_target(enc, t))
            .collect::<Result<_>>()?;
        let texts: Vec<&str> = examples.iter().map(|e| e.1).collect();
        let text_states = self.encode_texts(enc, &texts)?;
        let mut pairs = Vec::new();
        let mut owner = Vec::new();
        for (i, (target, _)) in examples.iter().enumerate() {
            let t = &target_states[targets.binary_search(target).expect("target encoded")];
            for w in &text_states[i] {
                pairs.push((t, w));
                owner.push(i);
            }
        }
        let probs = self.classify(&pairs)?;
        let mut out = vec![[0f32; 3]; examples.len()];
        let mut counts = vec![0f32; examples.len()];
        for (p, &i) in probs.iter().zip(&owner) {
            for k in 0..3 {
                out[i][k] += p[k];
            }
            counts[i] += 1.0;
        }
        for (o, &c) in out.iter_mut().zip(&counts) {
            if c == 0.0 {
                *o = [0.0, 0.0, 1.0]; // an empty text takes no stance
            } else {
                o.iter_mut().for_each(|v| *v /= c);
            }
        }
        Ok(out)
    }
}

/// The class with the highest probability.
pub fn argmax(p: &Probs) -> Stance {
    let mut best = 0;
    for k in 1..3 {
        if p[k] > p[best] {
            best = k;
        }
    }
    Stance::from_index(best)
}

/// Splits VAST rows into training and development: every k-th row (k = 1 / share) goes to
/// development, so the split is fixed and covers every part of the file.
pub fn split_vast(rows: Vec<StanceExample>, share: f64) -> (Vec<StanceExample>, Vec<StanceExample>) {
    let k = if share <= 0.0 {
        usize::MAX
    } else {
        (1.0 / share).round().max(1.0) as usize
    };
    let (mut train, mut dev) = (Vec::new(), Vec::new());
    for (i, r) in rows.into_iter().enumerate() {
        if k != usize::MAX && i % k == k - 1 {
            dev.push(r);
        } else {
            train.push(r);
        }
    }
    (train, dev)
}

/// Predicted classes for gold examples.
pub fn predict_gold(model: &StanceModel, enc: &dyn StateSource, gold: &[StanceExample]) -> Result<Vec<Stance>> {
    Ok(predict_gold_probs(model, enc, gold)?.iter().map(argmax).collect())
}

/// Class probabilities (against, favor, neutral) for gold examples.
pub fn predict_gold_probs(model: &StanceModel, enc: &dyn StateSource, gold: &[StanceExample]) -> Result<Vec<Probs>> {
    let mut out = Vec::with_capacity(gold.len());
    for chunk in gold.chunks(256) {
        let pairs: Vec<(&str, &str)> = chunk.iter().map(|e| (e.target.as_str(), e.text.as_str())).collect();
        out.extend(model.predict(enc, &pairs)?);
    }
    Ok(out)
}

/// Trains a stance model on SemEval-2016 (train split; its val split for development) and a VAST
/// file (split by `vast_dev_share`), writing `model.safetensors` and `config.json` into `out`.
pub fn train(
    source: &dyn StateSource,
    base_dir: &Path,
    semeval: Option<&Path>,
    vast: Option<&Path>,
    extra: &[(PathBuf, usize)],
    out: &Path,
    hyper: StanceHyper,
) -> Result<StanceConfig> {
    let started = Instant::now();
    let enc = source.encoder();
    let mut train_set = Vec::new();
    let mut dev_semeval = Vec::new();
    let mut dev_vast = Vec::new();
    let mut sources = Vec::new();
    if let Some(dir) = semeval {
        train_set.extend(super::data::read_semeval(dir, "train")?);
        dev_semeval = super::data::read_semeval(dir, "val")?;
        sources.push(format!("{} (train; val for development)", dir.display()));
    }
    if let Some(file) = vast {
        let (t, d) = split_vast(super::data::read_vast(file)?, hyper.vast_dev_share);
        sources.push(format!(
            "{} ({} rows for training, every {}th row ({}) for development)",
            file.display(),
            t.len(),
            (1.0 / hyper.vast_dev_share).round(),
            d.len()
        ));
        train_set.extend(t);
        dev_vast = d;
    }
    for (file, max) in extra {
        let rows = super::data::read_plain(file, *max)?;
        sources.push(format!("{} ({} rows for training)", file.display(), rows.len()));
        train_set.extend(rows);
    }
    if let Some(n) = hyper.max_examples {
        // Keep every class and source represented: take evenly spaced examples.
        let step = (train_set.len() / n.max(1)).max(1);
        train_set = train_set.into_iter().step_by(step).take(n).collect();
        dev_semeval.truncate(n);
        dev_vast.truncate(n);
    }
    if train_set.is_empty() {
        bail!("no training examples (give --semeval and/or --vast)");
    }
    let n_layers = enc.bert.config.num_hidden_layers;
    let frozen = n_layers - hyper.trained_layers.min(n_layers);
    eprintln!(
        "rhetor: training stance on {} examples (dev: {} SemEval, {} VAST), {frozen} frozen + {} trained layers",
        train_set.len(),
        dev_semeval.len(),
        dev_vast.len(),
        hyper.trained_layers
    );
    // Frozen states, computed once: each distinct target, and each text's first window.
    let mut targets: Vec<&str> = train_set.iter().map(|e| e.target.as_str()).collect();
    targets.sort();
    targets.dedup();
    let target_index = |t: &str| targets.binary_search(&t).expect("known target");
    let bar = indicatif::ProgressBar::new((targets.len() + train_set.len()) as u64);
    bar.set_message("encoding training data");
    let mut target_states = Vec::with_capacity(targets.len());
    if source.id() != format!("base:{frozen}") && !source.id().ends_with(&format!(":{frozen}")) {
        bail!(
            "the shared states {} do not end at layer {frozen}: train {} layers",
            source.id(),
            n_layers - frozen
        );
    }
    for t in &targets {
        target_states.push(encode_target_shared(source, t)?);
        bar.inc(1);
    }
    let text_words: Vec<Vec<&str>> = train_set.iter().map(|e| crate::text::words_of(&e.text)).collect();
    let mut text_states: Vec<States> = Vec::with_capacity(train_set.len());
    for chunk in text_words.chunks(256) {
        // The first window of each text (texts are sentences and tweets; a window is 126 subwords).
        for mut w in source.states(chunk)? {
            text_states.push(if w.is_empty() {
                Tensor::zeros((1, enc.hidden_size()), DType::F32, &Device::Cpu)?
            } else {
                w.swap_remove(0)
            });
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();

    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let head = StanceHead::new(vb, &enc.bert, frozen, true)?;
    init_vars(&varmap, &base_dir.join("model.safetensors"), hyper.seed)?;
    let (mut opt_layers, mut opt_head) = optimizers(&varmap, hyper.lr_layers, hyper.lr_head, hyper.weight_decay)?;
    let mut config = StanceConfig {
        name: out
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "stance".into()),
        base_model: enc.model_id.clone(),
        base_model_sha256: enc.model_sha256.clone(),
        frozen_layers: frozen,
        classes: Stance::ALL.iter().map(|s| s.as_str().to_string()).collect(),
        hyper: hyper.clone(),
        train_sources: sources,
        train_examples: train_set.len(),
        epochs_run: 0,
        best_epoch: 0,
        dev_semeval: None,
        dev_vast: None,
        train_seconds: 0.0,
        rhetor_version: crate::VERSION.to_string(),
        epoch_scores: Vec::new(),
        states_source: Some(source.id()),
        averaged_epochs: Vec::new(),
        notes: None,
    };
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let weights = out.join("model.safetensors");
    let mut rng = SplitMix::new(hyper.seed ^ 0x57a7);
    let mut by_len: Vec<usize> = (0..train_set.len()).collect();
    by_len.sort_by_key(|&i| (text_states[i].dim(0).unwrap_or(0), i));
    let batches: Vec<Vec<usize>> = by_len.chunks(hyper.batch_size).map(|c| c.to_vec()).collect();
    let mut best = -1.0;
    let mut since_best = 0;
    let mut snapshots: Vec<(usize, f64, Weights)> = Vec::new();
    for epoch in 1..=hyper.epochs {
        let mut order: Vec<usize> = (0..batches.len()).collect();
        rng.shuffle(&mut order);
        let bar = indicatif::ProgressBar::new(order.len() as u64);
        let (mut loss_sum, mut n) = (0.0f64, 0usize);
        for &b in &order {
            let batch = &batches[b];
            let (tg, tm) = stack_padded(
                batch
                    .iter()
                    .map(|&i| &target_states[target_index(&train_set[i].target)]),
            )?;
            let (tx, xm) = stack_padded(batch.iter().map(|&i| &text_states[i]))?;
            let logits = head.forward(&tg, &tm, &tx, &xm, Some((hyper.dropout, &mut rng)))?;
            let labels: Vec<u32> = batch.iter().map(|&i| train_set[i].stance.index() as u32).collect();
            let labels = Tensor::from_vec(labels, batch.len(), &Device::Cpu)?;
            let loss = candle_nn::loss::cross_entropy(&logits, &labels)?;
            let grads = loss.backward()?;
            opt_layers.step(&grads)?;
            opt_head.step(&grads)?;
            loss_sum += loss.to_scalar::<f32>()? as f64;
            n += 1;
            bar.inc(1);
            bar.set_message(format!("epoch {epoch} loss {:.4}", loss_sum / n as f64));
        }
        bar.finish_and_clear();
        let model = StanceModel {
            head: StanceHead::new(
                VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
                &enc.bert,
                frozen,
                false,
            )?,
            config: config.clone(),
            dir: out.to_path_buf(),
            sha256: String::new(),
        };
        let (sem, vst, measure) = dev_scores(&model, source, &dev_semeval, &dev_vast)?;
        config.epoch_scores.push(measure);
        if hyper.average_best > 1 {
            snapshots.push((epoch, measure, snapshot(&varmap)?));
        }
        config.epochs_run = epoch;
        eprintln!(
            "rhetor: epoch {epoch}: train loss {:.4}, SemEval dev F_avg {}, VAST dev macro F1 {}, {:.0} s elapsed",
            loss_sum / n.max(1) as f64,
            sem.as_ref().map_or("-".into(), |s| format!("{:.4}", s.overall.f_avg)),
            vst.as_ref()
                .map_or("-".into(), |s| format!("{:.4}", s.overall.macro_f1)),
            started.elapsed().as_secs_f64()
        );
        if measure > best {
            best = measure;
            since_best = 0;
            config.best_epoch = epoch;
            config.dev_semeval = sem;
            config.dev_vast = vst;
            save_weights(&varmap, &weights, false)?;
        } else {
            since_best += 1;
            if since_best >= hyper.patience {
                eprintln!("rhetor: no improvement for {} epochs; stopping early", hyper.patience);
                break;
            }
        }
    }
    if snapshots.len() >= 2 {
        snapshots.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        snapshots.truncate(hyper.average_best);
        let epochs: Vec<usize> = snapshots.iter().map(|s| s.0).collect();
        let weights_list: Vec<Weights> = snapshots.into_iter().map(|s| s.2).collect();
        let avg = average(&weights_list)?;
        try_average(
            source,
            &avg,
            &epochs,
            &mut config,
            best,
            &dev_semeval,
            &dev_vast,
            &weights,
        )?;
    }
    config.train_seconds = started.elapsed().as_secs_f64();
    std::fs::write(out.join("config.json"), serde_json::to_string_pretty(&config)? + "\n")?;
    Ok(config)
}

/// A copy of every trained tensor, by name.
pub type Weights = std::collections::HashMap<String, Tensor>;

fn snapshot(varmap: &VarMap) -> Result<Weights> {
    let data = varmap.data().lock().expect("varmap lock");
    data.iter()
        .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?)))
        .collect()
}

/// The element-wise mean of several sets of weights with the same names and shapes.
pub fn average(sets: &[Weights]) -> Result<Weights> {
    let first = sets.first().context("nothing to average")?;
    let mut out = Weights::new();
    for (name, t) in first {
        let mut sum = t.clone();
        for other in &sets[1..] {
            let o = other.get(name).with_context(|| format!("a checkpoint lacks {name}"))?;
            sum = (sum + o)?;
        }
        out.insert(name.clone(), (sum / sets.len() as f64)?);
    }
    Ok(out)
}

/// Development scores of a model: SemEval evaluation, VAST evaluation (overall only), and the
/// measure early stopping uses (SemEval F_avg, else VAST macro F1).
fn dev_scores(
    model: &StanceModel,
    enc: &dyn StateSource,
    dev_semeval: &[StanceExample],
    dev_vast: &[StanceExample],
) -> Result<(Option<super::data::Evaluation>, Option<super::data::Evaluation>, f64)> {
    let sem = if dev_semeval.is_empty() {
        None
    } else {
        Some(super::data::evaluate(
            dev_semeval,
            &predict_gold(model, enc, dev_semeval)?,
        ))
    };
    let vst = if dev_vast.is_empty() {
        None
    } else {
        // VAST has hundreds of targets with a few rows each: keep only the overall scores.
        let mut e = super::data::evaluate(dev_vast, &predict_gold(model, enc, dev_vast)?);
        e.per_target.clear();
        Some(e)
    };
    let measure = sem
        .as_ref()
        .map(|s| s.overall.f_avg)
        .or(vst.as_ref().map(|s| s.overall.macro_f1))
        .unwrap_or(0.0);
    Ok((sem, vst, measure))
}

/// Scores averaged weights on the development data and, if they beat `best`, saves them to
/// `weights` and records them in `config`.
#[allow(clippy::too_many_arguments)]
fn try_average(
    enc: &dyn StateSource,
    avg: &Weights,
    epochs: &[usize],
    config: &mut StanceConfig,
    best: f64,
    dev_semeval: &[StanceExample],
    dev_vast: &[StanceExample],
    weights: &Path,
) -> Result<()> {
    let vb = VarBuilder::from_tensors(avg.clone(), DType::F32, &Device::Cpu);
    let model = StanceModel {
        head: StanceHead::new(vb, &enc.encoder().bert, config.frozen_layers, false)?,
        config: config.clone(),
        dir: PathBuf::new(),
        sha256: String::new(),
    };
    let (sem, vst, measure) = dev_scores(&model, enc, dev_semeval, dev_vast)?;
    eprintln!("rhetor: the average of epochs {epochs:?} scores {measure:.4} on development data (best single epoch {best:.4})");
    if measure > best {
        candle_core::safetensors::save(avg, weights)?;
        config.averaged_epochs = epochs.to_vec();
        config.dev_semeval = sem;
        config.dev_vast = vst;
    }
    Ok(())
}

/// Averages checkpoint files of a finished training run into its folder `out` (which holds that
/// run's `config.json`), scores the average on the run's development data, and keeps it if it
/// beats the run's best epoch. `checkpoints`: (epoch, model.safetensors of that epoch).
pub fn average_checkpoints(
    enc: &dyn StateSource,
    semeval: Option<&Path>,
    vast: Option<&Path>,
    out: &Path,
    checkpoints: &[(usize, PathBuf)],
) -> Result<StanceConfig> {
    let mut config: StanceConfig = serde_json::from_slice(
        &std::fs::read(out.join("config.json")).with_context(|| format!("{} holds no config.json", out.display()))?,
    )?;
    let dev_semeval = match semeval {
        Some(d) => super::data::read_semeval(d, "val")?,
        None => Vec::new(),
    };
    let dev_vast = match vast {
        Some(f) => split_vast(super::data::read_vast(f)?, config.hyper.vast_dev_share).1,
        None => Vec::new(),
    };
    let sets: Vec<Weights> = checkpoints
        .iter()
        .map(|(_, p)| {
            Ok(candle_core::safetensors::load(p, &Device::Cpu)
                .with_context(|| format!("cannot read {}", p.display()))?
                .into_iter()
                .collect())
        })
        .collect::<Result<_>>()?;
    // The run's best single epoch, from its per-epoch scores (else its recorded dev scores).
    let best = config
        .epoch_scores
        .iter()
        .cloned()
        .reduce(f64::max)
        .or(config.dev_semeval.as_ref().map(|s| s.overall.f_avg))
        .or(config.dev_vast.as_ref().map(|s| s.overall.macro_f1))
        .unwrap_or(0.0);
    let epochs: Vec<usize> = checkpoints.iter().map(|c| c.0).collect();
    try_average(
        enc,
        &average(&sets)?,
        &epochs,
        &mut config,
        best,
        &dev_semeval,
        &dev_vast,
        &out.join("model.safetensors"),
    )?;
    std::fs::write(out.join("config.json"), serde_json::to_string_pretty(&config)? + "\n")?;
    Ok(config)
}

/// Shared states of a target description: its words' states, at least one row.
fn encode_target_shared(source: &dyn StateSource, target: &str) -> Result<States> {
    let words = crate::text::words_of(target);
    let states = source.states(&[words])?;
    match states.into_iter().next().and_then(|w| w.into_iter().next()) {
        Some(t) if t.dim(0)? > 0 => Ok(t),
        _ => Ok(Tensor::zeros((1, source.hidden_size()), DType::F32, &Device::Cpu)?),
    }
}

fn encode_target_frozen(enc: &Encoder, frozen: usize, target: &str) -> Result<States> {
    let (cls, sep) = enc.cls_sep();
    let mut ids = vec![cls];
    ids.extend(enc.tokenize(target)?.ids.iter().take(enc.window));
    ids.push(sep);
    let n = ids.len();
    let t = Tensor::from_vec(ids, (1, n), &Device::Cpu)?;
    Ok(enc.bert.forward_upto(&t, &t.ones_like()?, frozen)?.i(0)?)
}

/// Writes `README.md`, the model card: base model, data, hyperparameters, development scores,
/// size and sha256. Returns the card.
pub fn write_model_card(dir: &Path) -> Result<String> {
    let config: StanceConfig = serde_json::from_slice(&std::fs::read(dir.join("config.json"))?)?;
    let weights = dir.join("model.safetensors");
    let size = std::fs::metadata(&weights)?.len();
    let sha = crate::model::store::sha256_file(&weights)?;
    let table = |e: &super::data::Evaluation| -> String {
        let mut t = String::from(
            "| target | n | F_avg | macro F1 | F1 favor | F1 against | F1 neutral |\n|---|---|---|---|---|---|---|\n",
        );
        for (name, s) in e
            .per_target
            .iter()
            .map(|(n, s)| (n.as_str(), s))
            .chain(std::iter::once(("**all together**", &e.overall)))
        {
            t.push_str(&format!(
                "| {name} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |\n",
                s.n, s.f_avg, s.macro_f1, s.favor.f1, s.against.f1, s.neutral.f1
            ));
        }
        t
    };
    let mut scores = String::new();
    if let Some(e) = &config.dev_semeval {
        scores.push_str(&format!(
            "### SemEval-2016 task 6, val split: F_avg {:.4}\n\n{}\n",
            e.overall.f_avg,
            table(e)
        ));
    }
    if let Some(e) = &config.dev_vast {
        // Per-target rows of VAST are mostly single examples; only the total is shown.
        let o = &e.overall;
        scores.push_str(&format!(
            "### VAST, held-out rows: macro F1 {:.4}\n\n| n | macro F1 | F1 favor | F1 against | F1 neutral | accuracy |\n|---|---|---|---|---|---|\n| {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |\n\n",
            o.macro_f1, o.n, o.macro_f1, o.favor.f1, o.against.f1, o.neutral.f1, o.accuracy
        ));
    }
    let card = format!(
        "# {name}: rhetor stance model\n\n\
Reads a target (free text) and a text and says whether the text is **against**, **in favour of** \
or **neutral** toward the target. Text and target go through the frozen bottom {frozen} layers of \
{base} separately; the top {trained} layers (trained here) read `[target ; text]` together, with a \
learned segment vector on each part, and a linear classifier reads the target's [CLS] state and \
the mean of the text's states. Any target works, including ones never seen in training.\n\n\
- Base model: `{base}` (sha256 of its weights `{base_sha}`), uncased.\n\
- Training data: {sources}; {n} examples. Texts are cut to their first {window} subwords in \
training; at inference long texts are read in overlapping windows whose probabilities are averaged.\n\
- Early stopping on SemEval F_avg (the mean of F1-favor and F1-against over all targets \
together, the task's official measure); best epoch {best} of {run}; {secs:.0} s on 2 CPU cores. \
Development measure after each epoch: {epoch_scores}.{averaged}\n\
- Hyperparameters: `{hyper}`\n\
- Weights: `model.safetensors`, {size:.1} MB, sha256 `{sha}`.\n\n\
## Development scores\n\n{scores}\
The SemEval-2016 test split is held back; the 2016 winner scored F_avg 0.678 on it.\n\n\
{notes}## Limits\n\n\
- Tweets and online comments are short and informal; commentary is longer and more measured, so \
scores on op-eds will differ. rhetor aggregates sentence-level predictions per document.\n\
- Licences: SemEval-2016 task 6 and VAST are research datasets; see their sources.\n",
        name = config.name,
        frozen = config.frozen_layers,
        trained = config.hyper.trained_layers,
        base = config.base_model,
        base_sha = config.base_model_sha256,
        sources = config.train_sources.join("; "),
        n = config.train_examples,
        window = 126,
        best = config.best_epoch,
        run = config.epochs_run,
        secs = config.train_seconds,
        epoch_scores = config
            .epoch_scores
            .iter()
            .map(|v| format!("{v:.4}"))
            .collect::<Vec<_>>()
            .join(", "),
        averaged = if config.averaged_epochs.is_empty() {
            String::new()
        } else {
            format!(
                " The shipped weights are the element-wise mean of the weights after epochs {:?} (the best epochs by the development measure), which scored better on development data than any single epoch.",
                config.averaged_epochs
            )
        },
        hyper = serde_json::to_string(&config.hyper)?,
        size = size as f64 / 1e6,
        notes = config
            .notes
            .as_ref()
            .map(|n| format!("## How this copy was made\n\n{n}\n\n"))
            .unwrap_or_default(),
    );
    std::fs::write(dir.join("README.md"), &card)?;
    Ok(card)
}
