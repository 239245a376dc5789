//! What every trained head shares: a seeded random generator, dropout, initialisation from the
//! base model's weights, and saving.

use anyhow::Result;
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarMap};
use std::path::Path;

/// Deterministic random numbers (candle's CPU generator cannot be seeded).
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Approximately normal (sum of uniforms).
    pub fn normal(&mut self) -> f32 {
        (0..4).map(|_| self.uniform()).sum::<f32>() - 2.0
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

pub fn dropout(x: &Tensor, p: f32, rng: &mut SplitMix) -> Result<Tensor> {
    if p <= 0.0 {
        return Ok(x.clone());
    }
    let n = x.elem_count();
    let keep = 1.0 / (1.0 - p);
    let mask: Vec<f32> = (0..n).map(|_| if rng.uniform() < p { 0.0 } else { keep }).collect();
    Ok((x * Tensor::from_vec(mask, x.shape(), x.device())?)?)
}

/// Initialises the head's fresh parameters from a seeded generator and copies the top encoder
/// layers from the base model, so training is reproducible.
pub fn init_vars(varmap: &VarMap, base_weights: &Path, seed: u64) -> Result<()> {
    let base = candle_core::safetensors::load(base_weights, &Device::Cpu)?;
    let mut rng = SplitMix::new(seed);
    let data = varmap.data().lock().expect("varmap lock");
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let var: &Var = &data[name];
        if let Some(t) = base.get(name) {
            var.set(t)?;
        } else if name.ends_with(".bias") {
            var.set(&var.zeros_like()?)?;
        } else {
            let dims = var.dims().to_vec();
            let fan_in = *dims.last().unwrap_or(&1) as f32;
            let std = if name.contains("shape_in") {
                0.02
            } else {
                1.0 / fan_in.sqrt()
            };
            let v: Vec<f32> = (0..var.elem_count()).map(|_| rng.normal() * std).collect();
            var.set(&Tensor::from_vec(v, dims, &Device::Cpu)?)?;
        }
    }
    Ok(())
}

pub fn save_weights(varmap: &VarMap, path: &Path, f16: bool) -> Result<()> {
    let data = varmap.data().lock().expect("varmap lock");
    let mut tensors = std::collections::HashMap::new();
    for (name, var) in data.iter() {
        let t = var.as_tensor();
        tensors.insert(name.clone(), if f16 { t.to_dtype(DType::F16)? } else { t.clone() });
    }
    candle_core::safetensors::save(&tensors, path)?;
    Ok(())
}

/// AdamW for the encoder layers (variables named `encoder.*`) and for the head, each with its own
/// learning rate (variables in name order, so runs are reproducible).
pub fn optimizers(varmap: &VarMap, lr_layers: f64, lr_head: f64, weight_decay: f64) -> Result<(AdamW, AdamW)> {
    let data = varmap.data().lock().expect("varmap lock");
    let mut named: Vec<(&String, &Var)> = data.iter().collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    let (layers, head): (Vec<_>, Vec<_>) = named.into_iter().partition(|(n, _)| n.starts_with("encoder."));
    let params = |lr| ParamsAdamW {
        lr,
        weight_decay,
        ..Default::default()
    };
    let vars = |v: Vec<(&String, &Var)>| v.into_iter().map(|(_, v)| v.clone()).collect::<Vec<_>>();
    Ok((
        AdamW::new(vars(layers), params(lr_layers))?,
        AdamW::new(vars(head), params(lr_head))?,
    ))
}

/// Stacks [n_i, h] tensors into [b, max n, h] with zero padding, and the mask [b, max n].
pub fn stack_padded<'a>(items: impl Iterator<Item = &'a Tensor>) -> Result<(Tensor, Tensor)> {
    let items: Vec<&Tensor> = items.collect();
    let t = items.iter().map(|x| x.dim(0).unwrap_or(0)).max().unwrap_or(0).max(1);
    let mut rows = Vec::with_capacity(items.len());
    let mut mask = vec![0u32; items.len() * t];
    for (r, x) in items.iter().enumerate() {
        let n = x.dim(0)?;
        mask[r * t..r * t + n].fill(1);
        rows.push(if n == t {
            (*x).clone()
        } else {
            x.pad_with_zeros(0, 0, t - n)?
        });
    }
    Ok((
        Tensor::stack(&rows, 0)?,
        Tensor::from_vec(mask, (items.len(), t), &Device::Cpu)?,
    ))
}
