//! A BERT encoder in candle, written here rather than taken from candle-transformers so that
//! training can run a slice of layers (cache the frozen bottom, train the top) and so that the
//! forward pass is ours to optimise.

use super::fast::{FastLayer, LayerWeights};
use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::{embedding, linear, Embedding, Linear, VarBuilder};
use serde::Deserialize;

/// erf by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7), which the compiler
/// vectorises, instead of libm's scalar erf (a seventh of the encoder's time in profiles).
/// Training uses candle's `gelu_erf`, which has a backward pass.
#[inline(always)]
fn erf_approx(x: f32) -> f32 {
    let (p, a1, a2, a3, a4, a5) = (
        0.327_591_1f32,
        0.254_829_6f32,
        -0.284_496_74f32,
        1.421_413_7f32,
        -1.453_152_1f32,
        1.061_405_4f32,
    );
    let ax = x.abs();
    let t = 1.0 / (1.0 + p * ax);
    let y = 1.0 - (((((a5 * t + a4) * t) + a3) * t + a2) * t + a1) * t * super::fast::exp_approx(-ax * ax);
    y.copysign(x)
}

/// GELU (erf form) of one value, with the approximated erf.
#[inline(always)]
pub(crate) fn gelu_erf_scalar(x: f32) -> f32 {
    0.5 * x * (1.0 + erf_approx(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The fields of a Hugging Face BERT `config.json` that matter here.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
}

/// Layer normalisation. candle's fused kernels for layer norm and softmax have no backward pass
/// (gradients silently stop there), so layers being trained use the composite, differentiable form.
pub struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
    differentiable: bool,
}

impl Norm {
    fn load(size: usize, eps: f64, vb: VarBuilder, differentiable: bool) -> Result<Self> {
        let weight = vb.get_with_hints(size, "weight", candle_nn::Init::Const(1.0))?;
        let bias = vb.get_with_hints(size, "bias", candle_nn::Init::Const(0.0))?;
        Ok(Self {
            weight,
            bias,
            eps,
            differentiable,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if !self.differentiable && x.is_contiguous() {
            return candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps as f32);
        }
        let mean = x.mean_keepdim(D::Minus1)?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centred.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        normed.broadcast_mul(&self.weight)?.broadcast_add(&self.bias)
    }
}

struct Embeddings {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    norm: Norm,
}

impl Embeddings {
    fn load(vb: VarBuilder, c: &BertConfig) -> Result<Self> {
        Ok(Self {
            word: embedding(c.vocab_size, c.hidden_size, vb.pp("word_embeddings"))?,
            position: embedding(c.max_position_embeddings, c.hidden_size, vb.pp("position_embeddings"))?,
            token_type: embedding(c.type_vocab_size, c.hidden_size, vb.pp("token_type_embeddings"))?,
            norm: Norm::load(c.hidden_size, c.layer_norm_eps, vb.pp("LayerNorm"), false)?,
        })
    }

    /// `ids`: [batch, len] u32 -> [batch, len, hidden].
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let (_, len) = ids.dims2()?;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?;
        let words = self.word.forward(ids)?;
        let pos = self.position.forward(&positions)?.unsqueeze(0)?;
        let types = self.token_type.forward(&ids.zeros_like()?)?;
        self.norm.forward(&words.broadcast_add(&pos)?.add(&types)?)
    }
}

/// One transformer layer: self-attention and feed-forward, each with residual and LayerNorm.
/// Layers loaded for inference run on [`FastLayer`]; layers being trained run on candle's
/// differentiable ops.
#[allow(clippy::large_enum_variant)] // six layers per model: boxing would only add an indirection
pub enum BertLayer {
    Inference(FastLayer),
    Trainable(CandleLayer),
}

/// A layer in candle ops, every one with a backward pass.
pub struct CandleLayer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    intermediate: Linear,
    output: Linear,
    out_norm: Norm,
    heads: usize,
    head_dim: usize,
}

fn flat(t: &Tensor) -> Result<Vec<f32>> {
    t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()
}

impl BertLayer {
    /// A layer for inference, in the process's precision ([`super::fast::precision`]).
    pub fn load(vb: VarBuilder, c: &BertConfig) -> Result<Self> {
        Self::load_precision(vb, c, super::fast::precision())
    }

    /// A layer for inference in the given precision.
    pub fn load_precision(vb: VarBuilder, c: &BertConfig, precision: super::fast::Precision) -> Result<Self> {
        // The candle loader reads the weights (names and shapes checked); they are then copied out.
        let l = CandleLayer::load(vb, c)?;
        let lin = |l: &Linear| -> Result<(Vec<f32>, Vec<f32>)> {
            let bias = l
                .bias()
                .ok_or_else(|| candle_core::Error::Msg("a BERT linear layer has no bias".into()))?;
            Ok((flat(l.weight())?, flat(bias)?))
        };
        let norm = |n: &Norm| -> Result<(Vec<f32>, Vec<f32>)> { Ok((flat(&n.weight)?, flat(&n.bias)?)) };
        let weights = LayerWeights {
            query: lin(&l.query)?,
            key: lin(&l.key)?,
            value: lin(&l.value)?,
            attn_out: lin(&l.attn_out)?,
            attn_norm: norm(&l.attn_norm)?,
            intermediate: lin(&l.intermediate)?,
            output: lin(&l.output)?,
            out_norm: norm(&l.out_norm)?,
        };
        Ok(Self::Inference(FastLayer::with_precision(
            weights,
            c.num_attention_heads,
            c.layer_norm_eps,
            precision,
        )))
    }

    /// A layer whose every operation has a backward pass, for training.
    pub fn load_trainable(vb: VarBuilder, c: &BertConfig) -> Result<Self> {
        Ok(Self::Trainable(CandleLayer::load(vb, c)?))
    }
}

/// Runs `layers` in order. `x`: [batch, len, hidden]; `mask_bias`: [batch, 1, 1, len], 0 for
/// tokens and a large negative number for padding. Consecutive inference layers share one copy
/// out of and back into a tensor.
pub fn forward_stack(layers: &[BertLayer], x: Tensor, mask_bias: &Tensor) -> Result<Tensor> {
    let mut x = x;
    let mut k = 0;
    while k < layers.len() {
        match &layers[k] {
            BertLayer::Trainable(l) => {
                x = l.forward(&x, mask_bias)?;
                k += 1;
            }
            BertLayer::Inference(_) => {
                let (b, t, h) = x.dims3()?;
                let device = x.device().clone();
                let mut v = flat(&x)?;
                let bias = flat(mask_bias)?;
                while let Some(BertLayer::Inference(l)) = layers.get(k) {
                    v = l.forward(&v, &bias, b, t);
                    k += 1;
                }
                x = Tensor::from_vec(v, (b, t, h), &device)?;
            }
        }
    }
    Ok(x)
}

impl CandleLayer {
    fn load(vb: VarBuilder, c: &BertConfig) -> Result<Self> {
        let h = c.hidden_size;
        Ok(Self {
            query: linear(h, h, vb.pp("attention.self.query"))?,
            key: linear(h, h, vb.pp("attention.self.key"))?,
            value: linear(h, h, vb.pp("attention.self.value"))?,
            attn_out: linear(h, h, vb.pp("attention.output.dense"))?,
            attn_norm: Norm::load(h, c.layer_norm_eps, vb.pp("attention.output.LayerNorm"), true)?,
            intermediate: linear(h, c.intermediate_size, vb.pp("intermediate.dense"))?,
            output: linear(c.intermediate_size, h, vb.pp("output.dense"))?,
            out_norm: Norm::load(h, c.layer_norm_eps, vb.pp("output.LayerNorm"), true)?,
            heads: c.num_attention_heads,
            head_dim: h / c.num_attention_heads,
        })
    }

    fn forward(&self, x: &Tensor, mask_bias: &Tensor) -> Result<Tensor> {
        let (b, t, h) = x.dims3()?;
        let split = |y: Tensor| -> Result<Tensor> {
            y.reshape((b, t, self.heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split(self.query.forward(x)?)?;
        let k = split(self.key.forward(x)?)?;
        let v = split(self.value.forward(x)?)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(mask_bias)?;
        let probs = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, t, h))?;
        let a = self.attn_norm.forward(&(self.attn_out.forward(&ctx)? + x)?)?;
        let i = self.intermediate.forward(&a)?.gelu_erf()?;
        self.out_norm.forward(&(self.output.forward(&i)? + a)?)
    }
}

/// The encoder: embeddings and layers.
pub struct Bert {
    embeddings: Embeddings,
    pub layers: Vec<BertLayer>,
    pub config: BertConfig,
}

impl Bert {
    pub fn load(vb: VarBuilder, config: BertConfig) -> Result<Self> {
        let embeddings = Embeddings::load(vb.pp("embeddings"), &config)?;
        let layers = (0..config.num_hidden_layers)
            .map(|i| BertLayer::load(vb.pp(format!("encoder.layer.{i}")), &config))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embeddings,
            layers,
            config,
        })
    }

    /// The additive attention mask for `mask` ([batch, len], 1 token / 0 padding).
    pub fn mask_bias(mask: &Tensor) -> Result<Tensor> {
        let m = mask.to_dtype(DType::F32)?;
        ((m.ones_like()? - m)? * -1e9)?.unsqueeze(1)?.unsqueeze(1)
    }

    /// Hidden states after the embeddings and `layers[..upto]`.
    pub fn forward_upto(&self, ids: &Tensor, mask: &Tensor, upto: usize) -> Result<Tensor> {
        let bias = Self::mask_bias(mask)?;
        let x = self.embeddings.forward(ids)?;
        let x = forward_stack(&self.layers[..upto.min(self.layers.len())], x, &bias)?;
        Ok(x)
    }

    /// Last hidden states: [batch, len, hidden].
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        self.forward_upto(ids, mask, self.layers.len())
    }

    pub fn device(&self) -> &Device {
        self.embeddings.word.embeddings().device()
    }
}

/// Mean of the hidden states over real tokens, L2-normalised: the sentence embedding of
/// sentence-transformers models such as all-MiniLM-L6-v2.
pub fn mean_pool_normalised(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let m = mask.to_dtype(DType::F32)?.unsqueeze(D::Minus1)?;
    let summed = hidden.broadcast_mul(&m)?.sum(1)?;
    let counts = m.sum(1)?;
    let mean = summed.broadcast_div(&counts)?;
    let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
    mean.broadcast_div(&norm)
}

#[cfg(test)]
mod tests {
    #[test]
    fn erf_approximation_is_close() {
        for i in -300..=300 {
            let x = i as f64 / 100.0;
            let (got, want) = (super::erf_approx(x as f32) as f64, series_erf(x));
            assert!((got - want).abs() < 5e-7, "erf({x}) = {want}, approximated as {got}");
        }
    }

    /// erf by its Taylor series (converges well in f64 for |x| <= 3), as an independent reference.
    fn series_erf(x: f64) -> f64 {
        let mut sum = 0.0;
        let mut term = x;
        for n in 0..200 {
            sum += term / (2 * n + 1) as f64;
            term *= -x * x / (n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }
}
