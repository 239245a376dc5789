//! The recommendation model: reads a candidate sentence in its context and says how likely it is
//! the author's own recommendation.
//!
//! Input: the shared encoder states (the bottom layers NER already ran) of the sentence before
//! (its last [`CONTEXT_SUBWORDS`] subwords) and of the sentence, each marked by a learned segment
//! vector; two top encoder layers of its own (started from the base model's) read them together,
//! so attention relates the cue to its subject and to what came before ("That would be a
//! mistake." after a proposal, a quotation running on). The head reads the mean of the
//! sentence's states, the state at the cue, and the rules' features of the sentence
//! ([`super::classifier::rule_features`]), and gives one logit.

use super::classifier::N_RULE_FEATURES;
use crate::model::bert::{forward_stack, Bert, BertLayer};
use crate::model::train::{dropout, init_vars, optimizers, save_weights, stack_padded, SplitMix};
use crate::model::Encoder;
use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, IndexOp, Tensor, D};
use candle_nn::{embedding, linear, Embedding, Linear, Module, Optimizer, VarBuilder, VarMap};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Subwords of the previous sentence the model reads (its end, nearest the sentence).
pub const CONTEXT_SUBWORDS: usize = 32;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecHyper {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr_layers: f64,
    pub lr_head: f64,
    pub weight_decay: f64,
    pub dropout: f32,
    pub seed: u64,
}

impl Default for RecHyper {
    fn default() -> Self {
        Self {
            epochs: 4,
            batch_size: 16,
            lr_layers: 5e-5,
            lr_head: 5e-4,
            weight_decay: 0.01,
            dropout: 0.1,
            seed: 23,
        }
    }
}

/// The trained part.
pub struct RecHead {
    segment: Embedding,
    layers: Vec<BertLayer>,
    out: Linear,
}

impl RecHead {
    pub fn new(vb: VarBuilder, base: &Bert, frozen: usize, trainable: bool) -> Result<Self> {
        let h = base.config.hidden_size;
        let layers = (frozen..base.config.num_hidden_layers)
            .map(|i| {
                let vb = vb.pp(format!("encoder.layer.{i}"));
                if trainable {
                    BertLayer::load_trainable(vb, &base.config)
                } else {
                    BertLayer::load(vb, &base.config)
                }
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            segment: embedding(2, h, vb.pp("recommend.segment"))?,
            layers,
            out: linear(2 * h + N_RULE_FEATURES, 1, vb.pp("recommend.out"))?,
        })
    }

    /// Logits [b]. `context` [b, tc, h] and `sentence` [b, ts, h] with masks; `cue[r]` the
    /// position of row r's cue in the sentence; `rule` [b, N_RULE_FEATURES].
    #[allow(clippy::too_many_arguments)] // the model's inputs, each a tensor of its own
    pub fn forward(
        &self,
        context: &Tensor,
        context_mask: &Tensor,
        sentence: &Tensor,
        sentence_mask: &Tensor,
        cue: &[usize],
        rule: &Tensor,
        drop: Option<(f32, &mut SplitMix)>,
    ) -> Result<Tensor> {
        let dev = sentence.device();
        let seg = self.segment.forward(&Tensor::new(&[0u32, 1], dev)?)?;
        let x = Tensor::cat(
            &[context.broadcast_add(&seg.i(0)?)?, sentence.broadcast_add(&seg.i(1)?)?],
            1,
        )?;
        let mask = Tensor::cat(&[context_mask, sentence_mask], 1)?;
        let x = forward_stack(&self.layers, x, &Bert::mask_bias(&mask)?)?;
        let (b, tc, ts) = (x.dim(0)?, context.dim(1)?, sentence.dim(1)?);
        let m = sentence_mask.to_dtype(DType::F32)?.unsqueeze(D::Minus1)?;
        let sent_states = x.narrow(1, tc, ts)?;
        let mean = sent_states
            .broadcast_mul(&m)?
            .sum(1)?
            .broadcast_div(&m.sum(1)?.clamp(1.0, f64::MAX)?)?;
        let h = x.dim(2)?;
        let flat = sent_states.reshape((b * ts, h))?;
        let idx: Vec<u32> = cue
            .iter()
            .enumerate()
            .map(|(r, &c)| (r * ts + c.min(ts - 1)) as u32)
            .collect();
        let cue_states = flat.index_select(&Tensor::from_vec(idx, b, dev)?, 0)?;
        let mut z = Tensor::cat(&[mean, cue_states], D::Minus1)?;
        if let Some((p, rng)) = drop {
            z = dropout(&z, p, rng)?;
        }
        let z = Tensor::cat(&[z, rule.clone()], D::Minus1)?;
        Ok(self.out.forward(&z)?.squeeze(D::Minus1)?)
    }
}

/// What the model reads of one candidate sentence.
#[derive(Clone)]
pub struct RecInput {
    /// Shared states of the end of the previous sentence ([n, h], n may be 0).
    pub context: Tensor,
    /// Shared states of the sentence's subwords ([n, h]; its first window for long sentences).
    pub sentence: Tensor,
    /// Subword position of the cue in `sentence`.
    pub cue: usize,
    pub rule: [f32; N_RULE_FEATURES],
}

fn batch_inputs(items: &[&RecInput], hidden: usize) -> Result<(Tensor, Tensor, Tensor, Tensor, Vec<usize>, Tensor)> {
    let empty = Tensor::zeros((1, hidden), DType::F32, &Device::Cpu)?;
    // A sentence without context gets one zero row, masked out.
    let ctx: Vec<&Tensor> = items
        .iter()
        .map(|i| {
            if i.context.dim(0).unwrap_or(0) == 0 {
                &empty
            } else {
                &i.context
            }
        })
        .collect();
    let (c, mut cm) = stack_padded(ctx.into_iter())?;
    let no_context: Vec<bool> = items.iter().map(|i| i.context.dim(0).unwrap_or(0) == 0).collect();
    if no_context.iter().any(|&x| x) {
        let t = cm.dim(1)?;
        let mut v: Vec<u32> = cm.flatten_all()?.to_vec1()?;
        for (r, &none) in no_context.iter().enumerate() {
            if none {
                v[r * t..(r + 1) * t].fill(0);
            }
        }
        cm = Tensor::from_vec(v, (items.len(), t), &Device::Cpu)?;
    }
    let (s, sm) = stack_padded(items.iter().map(|i| &i.sentence))?;
    let cue: Vec<usize> = items.iter().map(|i| i.cue).collect();
    let rule: Vec<f32> = items.iter().flat_map(|i| i.rule.iter().copied()).collect();
    let rule = Tensor::from_vec(rule, (items.len(), N_RULE_FEATURES), &Device::Cpu)?;
    Ok((c, cm, s, sm, cue, rule))
}

/// Probabilities for inputs, in batches of similar length.
pub fn predict(head: &RecHead, inputs: &[RecInput], hidden: usize) -> Result<Vec<f32>> {
    let mut out = vec![0f32; inputs.len()];
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|&i| (inputs[i].sentence.dim(0).unwrap_or(0), i));
    for batch in order.chunks(16) {
        let items: Vec<&RecInput> = batch.iter().map(|&i| &inputs[i]).collect();
        let (c, cm, s, sm, cue, rule) = batch_inputs(&items, hidden)?;
        let logits: Vec<f32> = head.forward(&c, &cm, &s, &sm, &cue, &rule, None)?.to_vec1()?;
        for (&i, l) in batch.iter().zip(logits) {
            out[i] = 1.0 / (1.0 + (-l).exp());
        }
    }
    Ok(out)
}

/// Trains a head on `train` (inputs and labels) for the configured epochs and returns its
/// variables. `frozen`: the shared layers under it.
pub fn fit(
    enc: &Encoder,
    base_weights: &Path,
    frozen: usize,
    train: &[(&RecInput, bool)],
    hyper: &RecHyper,
) -> Result<VarMap> {
    if train.is_empty() {
        bail!("no training examples");
    }
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let head = RecHead::new(vb, &enc.bert, frozen, true)?;
    init_vars(&varmap, base_weights, hyper.seed)?;
    let (mut opt_layers, mut opt_head) = optimizers(&varmap, hyper.lr_layers, hyper.lr_head, hyper.weight_decay)?;
    let mut rng = SplitMix::new(hyper.seed ^ 0x7ec);
    let mut by_len: Vec<usize> = (0..train.len()).collect();
    by_len.sort_by_key(|&i| (train[i].0.sentence.dim(0).unwrap_or(0), i));
    let batches: Vec<Vec<usize>> = by_len.chunks(hyper.batch_size).map(|c| c.to_vec()).collect();
    let hidden = enc.hidden_size();
    // Positives are rarer than negatives among candidates; weigh them up to balance the loss.
    let pos = train.iter().filter(|t| t.1).count().max(1) as f32;
    let neg = (train.len() as f32 - pos).max(1.0);
    let pos_weight = (neg / pos).clamp(1.0, 5.0);
    for epoch in 1..=hyper.epochs {
        let mut order: Vec<usize> = (0..batches.len()).collect();
        rng.shuffle(&mut order);
        let (mut sum, mut n) = (0f64, 0usize);
        for &b in &order {
            let items: Vec<&RecInput> = batches[b].iter().map(|&i| train[i].0).collect();
            let (c, cm, s, sm, cue, rule) = batch_inputs(&items, hidden)?;
            let logits = head.forward(&c, &cm, &s, &sm, &cue, &rule, Some((hyper.dropout, &mut rng)))?;
            let y: Vec<f32> = batches[b].iter().map(|&i| if train[i].1 { 1.0 } else { 0.0 }).collect();
            let w: Vec<f32> = y.iter().map(|&v| if v > 0.5 { pos_weight } else { 1.0 }).collect();
            let y = Tensor::from_vec(y, items.len(), &Device::Cpu)?;
            let w = Tensor::from_vec(w, items.len(), &Device::Cpu)?;
            // Weighted binary cross-entropy from logits: max(x,0) - x*y + log(1 + exp(-|x|)).
            let loss = (logits.relu()? - (&logits * &y)? + logits.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?)?;
            let loss = (loss * w)?.mean_all()?;
            let grads = loss.backward()?;
            opt_layers.step(&grads)?;
            opt_head.step(&grads)?;
            sum += loss.to_scalar::<f32>()? as f64;
            n += 1;
        }
        eprintln!(
            "rhetor: recommendation model epoch {epoch}: loss {:.4}",
            sum / n.max(1) as f64
        );
    }
    Ok(varmap)
}

/// A loaded head (inference layers).
pub fn load_head(dir: &Path, enc: &Encoder, frozen: usize) -> Result<RecHead> {
    let weights = dir.join("model.safetensors");
    // SAFETY: read-only memory map of a file rhetor does not modify while it is mapped.
    let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &Device::Cpu)? };
    RecHead::new(vb, &enc.bert, frozen, false)
        .with_context(|| format!("{} is not a recommendation model", dir.display()))
}

/// The head of freshly trained variables, for predicting (training layers still run).
pub fn head_of(varmap: &VarMap, enc: &Encoder, frozen: usize) -> Result<RecHead> {
    let vb = VarBuilder::from_varmap(varmap, DType::F32, &Device::Cpu);
    RecHead::new(vb, &enc.bert, frozen, false)
}

pub fn save(varmap: &VarMap, path: &Path) -> Result<()> {
    save_weights(varmap, path, false)
}
