//! The inference forward pass of a BERT layer on plain f32 buffers.
//!
//! Why not candle's ops: profiles of `rhetor bench` showed a third of the encoder's time outside
//! the matrix products, in passes that each read and write a whole activation (bias add, residual
//! add, attention scale, mask add, softmax, head transposes) and in their allocations. Here the
//! bias and the residual are written into the output before `gemm` accumulates into it, the query,
//! key and value projections are one product, and attention runs fused per sequence and head.
//! Training keeps candle's differentiable ops; a test holds the two paths to the same numbers.

use rayon::prelude::*;

/// Defines a kernel compiled twice, for AVX2 with FMA and for the baseline, choosing at run time
/// (the check is a cached atomic load): the build stays portable and the loops get 8 lanes.
macro_rules! dispatched {
    ($(#[$m:meta])* fn $name:ident($($a:ident: $t:ty),*) $body:block) => {
        $(#[$m])*
        fn $name($($a: $t),*) {
            #[inline(always)]
            fn body($($a: $t),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($a: $t),*) {
                    body($($a),*)
                }
                if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has the features `avx2` was compiled for.
                    return unsafe { avx2($($a),*) };
                }
            }
            body($($a),*)
        }
    };
}

/// How the inference layers multiply: f32 `gemm`, or int8 products (`super::quant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    Fp32,
    Int8,
}

static PRECISION: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// The precision layers loaded from now on use (a process setting, chosen before models load).
pub fn set_precision(p: Precision) {
    PRECISION.store(p as u8, std::sync::atomic::Ordering::Relaxed);
}

pub fn precision() -> Precision {
    match PRECISION.load(std::sync::atomic::Ordering::Relaxed) {
        1 => Precision::Int8,
        _ => Precision::Fp32,
    }
}

/// The four matrices of a layer quantised for int8 products.
struct QuantWeights {
    qkv: super::quant::QuantMatrix,
    out: super::quant::QuantMatrix,
    inter: super::quant::QuantMatrix,
    output: super::quant::QuantMatrix,
}

/// One layer's weights, laid out for direct `gemm` calls. Weights keep the torch `Linear` layout
/// `[out, in]`, row-major.
pub struct FastLayer {
    /// Present when the layer runs in int8.
    quant: Option<QuantWeights>,
    hidden: usize,
    heads: usize,
    intermediate: usize,
    eps: f32,
    /// Query, key and value weights stacked: `[3 * hidden, hidden]`.
    qkv_w: Vec<f32>,
    qkv_b: Vec<f32>,
    out_w: Vec<f32>,
    out_b: Vec<f32>,
    attn_norm_w: Vec<f32>,
    attn_norm_b: Vec<f32>,
    inter_w: Vec<f32>,
    inter_b: Vec<f32>,
    output_w: Vec<f32>,
    output_b: Vec<f32>,
    out_norm_w: Vec<f32>,
    out_norm_b: Vec<f32>,
}

/// The tensors of one layer, as flat f32 vectors (`Linear` weights `[out, in]`).
pub struct LayerWeights {
    pub query: (Vec<f32>, Vec<f32>),
    pub key: (Vec<f32>, Vec<f32>),
    pub value: (Vec<f32>, Vec<f32>),
    pub attn_out: (Vec<f32>, Vec<f32>),
    pub attn_norm: (Vec<f32>, Vec<f32>),
    pub intermediate: (Vec<f32>, Vec<f32>),
    pub output: (Vec<f32>, Vec<f32>),
    pub out_norm: (Vec<f32>, Vec<f32>),
}

impl FastLayer {
    pub fn new(w: LayerWeights, heads: usize, eps: f64) -> Self {
        Self::with_precision(w, heads, eps, precision())
    }

    pub fn with_precision(w: LayerWeights, heads: usize, eps: f64, precision: Precision) -> Self {
        let hidden = w.query.1.len();
        let intermediate = w.intermediate.1.len();
        assert_eq!(w.query.0.len(), hidden * hidden);
        assert_eq!(w.intermediate.0.len(), hidden * intermediate);
        assert_eq!(w.output.0.len(), hidden * intermediate);
        assert_eq!(hidden % heads, 0);
        assert_eq!(
            (hidden / heads) % 8,
            0,
            "the attention kernel takes heads of a multiple of 8 dimensions"
        );
        let qkv_w = [w.query.0, w.key.0, w.value.0].concat();
        let qkv_b = [w.query.1, w.key.1, w.value.1].concat();
        let quant = (precision == Precision::Int8).then(|| QuantWeights {
            qkv: super::quant::QuantMatrix::new(&qkv_w, 3 * hidden, hidden),
            out: super::quant::QuantMatrix::new(&w.attn_out.0, hidden, hidden),
            inter: super::quant::QuantMatrix::new(&w.intermediate.0, intermediate, hidden),
            output: super::quant::QuantMatrix::new(&w.output.0, hidden, intermediate),
        });
        // In int8 the f32 matrices are not kept (memory stays what it was, or less).
        let keep = |v: Vec<f32>| if quant.is_some() { Vec::new() } else { v };
        Self {
            hidden,
            heads,
            intermediate,
            eps: eps as f32,
            qkv_w: keep(qkv_w),
            qkv_b,
            out_w: keep(w.attn_out.0),
            out_b: w.attn_out.1,
            attn_norm_w: w.attn_norm.0,
            attn_norm_b: w.attn_norm.1,
            inter_w: keep(w.intermediate.0),
            inter_b: w.intermediate.1,
            output_w: keep(w.output.0),
            output_b: w.output.1,
            out_norm_w: w.out_norm.0,
            out_norm_b: w.out_norm.1,
            quant,
        }
    }

    /// `x`: `[batch * len, hidden]` row-major; `mask_bias`: `[batch * len]`, 0 for tokens and a
    /// large negative number for padding. Returns the layer's output, same shape as `x`.
    pub fn forward(&self, x: &[f32], mask_bias: &[f32], batch: usize, len: usize) -> Vec<f32> {
        let (h, m) = (self.hidden, batch * len);
        assert_eq!(x.len(), m * h);
        assert_eq!(mask_bias.len(), m);
        let q = self.quant.as_ref();
        let mut qkv = repeat_rows(&self.qkv_b, m);
        match q {
            Some(q) => super::quant::qmatmul_accumulate(&mut qkv, x, &q.qkv, m),
            None => matmul_accumulate(&mut qkv, x, &self.qkv_w, m, h, 3 * h),
        }
        let ctx = self.attention(&qkv, mask_bias, batch, len);
        drop(qkv);
        // Residual and bias first, then the product accumulates into them.
        let mut a = x.to_vec();
        add_rows(&mut a, &self.out_b);
        match q {
            Some(q) => super::quant::qmatmul_accumulate(&mut a, &ctx, &q.out, m),
            None => matmul_accumulate(&mut a, &ctx, &self.out_w, m, h, h),
        }
        layer_norm(&mut a, h, &self.attn_norm_w, &self.attn_norm_b, self.eps);
        let mut inter = repeat_rows(&self.inter_b, m);
        match q {
            Some(q) => super::quant::qmatmul_accumulate(&mut inter, &a, &q.inter, m),
            None => matmul_accumulate(&mut inter, &a, &self.inter_w, m, h, self.intermediate),
        }
        gelu_in_place(&mut inter);
        let mut y = a;
        add_rows(&mut y, &self.output_b);
        match q {
            Some(q) => super::quant::qmatmul_accumulate(&mut y, &inter, &q.output, m),
            None => matmul_accumulate(&mut y, &inter, &self.output_w, m, self.intermediate, h),
        }
        layer_norm(&mut y, h, &self.out_norm_w, &self.out_norm_b, self.eps);
        y
    }

    /// Scaled dot-product attention over `qkv` (`[batch * len, 3 * hidden]`: queries, keys,
    /// values), one sequence per task; returns the context `[batch * len, hidden]`.
    fn attention(&self, qkv: &[f32], mask_bias: &[f32], batch: usize, len: usize) -> Vec<f32> {
        let h = self.hidden;
        let mut ctx = vec![0f32; batch * len * h];
        if len == 0 {
            return ctx;
        }
        ctx.par_chunks_mut(len * h).enumerate().for_each(|(b, ctx)| {
            let seq = Sequence {
                rows: &qkv[b * len * 3 * h..(b + 1) * len * 3 * h],
                bias: &mask_bias[b * len..(b + 1) * len],
                len,
                hidden: h,
                heads: self.heads,
            };
            attend(&seq, ctx);
        });
        ctx
    }
}

/// One sequence's queries, keys and values (`rows`: `[len, 3 * hidden]`) and mask bias.
struct Sequence<'a> {
    rows: &'a [f32],
    bias: &'a [f32],
    len: usize,
    hidden: usize,
    heads: usize,
}

dispatched! {
/// Attention of one sequence into `ctx` (`[len, hidden]`). Per head, scores are computed four
/// query rows by eight keys at a time over keys transposed and padded to a multiple of 8
/// (padding masked out), and the context 32 lanes at a time: independent accumulators in
/// registers, contiguous loads, so the loops run at the speed of the multiply-adds rather than of
/// one accumulator's latency.
fn attend(s: &Sequence, ctx: &mut [f32]) {
    let (t, h) = (s.len, s.hidden);
    let d = h / s.heads;
    let (t4, t8) = (t.div_ceil(4) * 4, t.div_ceil(8) * 8);
    let scale = 1.0 / (d as f32).sqrt();
    let mut qt = vec![0f32; d * t4];
    let mut kt = vec![0f32; h * t8];
    let mut bias = vec![-1e9f32; t8];
    bias[..t].copy_from_slice(s.bias);
    let mut scores = vec![0f32; t4 * t8];
    // Keys of every head transposed (gathering reads, contiguous writes).
    for (c, dst) in kt.chunks_exact_mut(t8).enumerate() {
        for (j, k) in dst[..t].iter_mut().enumerate() {
            *k = s.rows[j * 3 * h + h + c];
        }
    }
    for head in 0..s.heads {
        let (qo, vo) = (head * d, 2 * h + head * d);
        let kt = &kt[head * d * t8..(head + 1) * d * t8];
        for (c, dst) in qt.chunks_exact_mut(t4).enumerate() {
            for (j, q) in dst[..t].iter_mut().enumerate() {
                *q = s.rows[j * 3 * h + qo + c] * scale;
            }
        }
        for ib in (0..t4).step_by(4) {
            for jb in (0..t8).step_by(8) {
                let mut acc = [[0f32; 8]; 4];
                for (qc, kc) in qt.chunks_exact(t4).zip(kt.chunks_exact(t8)) {
                    let qv: &[f32; 4] = qc[ib..ib + 4].try_into().expect("4 queries");
                    let k: &[f32; 8] = kc[jb..jb + 8].try_into().expect("8 keys");
                    for r in 0..4 {
                        for l in 0..8 {
                            acc[r][l] += qv[r] * k[l];
                        }
                    }
                }
                for (r, acc) in acc.iter().enumerate() {
                    let out = &mut scores[(ib + r) * t8 + jb..(ib + r) * t8 + jb + 8];
                    for l in 0..8 {
                        out[l] = acc[l] + bias[jb + l];
                    }
                }
            }
        }
        for i in 0..t {
            let p = &mut scores[i * t8..(i + 1) * t8];
            let mut max8 = [f32::NEG_INFINITY; 8];
            for c in p.chunks_exact(8) {
                for l in 0..8 {
                    max8[l] = max8[l].max(c[l]);
                }
            }
            let max = max8.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
            for pj in p.iter_mut() {
                *pj = exp_approx(*pj - max);
            }
            let inv = 1.0 / sum8(p);
            let out = &mut ctx[i * h + qo..i * h + qo + d];
            let mut col = 0;
            while col + 32 <= d {
                context_lanes::<32>(&p[..t], &s.rows[vo..], 3 * h, col, inv, &mut out[col..col + 32]);
                col += 32;
            }
            while col < d {
                context_lanes::<8>(&p[..t], &s.rows[vo..], 3 * h, col, inv, &mut out[col..col + 8]);
                col += 8;
            }
        }
    }
}
}

/// `out[l] = inv * sum_j p[j] * v[j * stride + col + l]` for `N` lanes.
#[inline(always)]
fn context_lanes<const N: usize>(p: &[f32], v: &[f32], stride: usize, col: usize, inv: f32, out: &mut [f32]) {
    let mut acc = [0f32; N];
    for (j, &pj) in p.iter().enumerate() {
        let vv: &[f32; N] = v[j * stride + col..j * stride + col + N].try_into().expect("N lanes");
        for l in 0..N {
            acc[l] += pj * vv[l];
        }
    }
    for (o, a) in out.iter_mut().zip(acc) {
        *o = a * inv;
    }
}

/// `dst[m, n] += x[m, k] · wᵀ`, with `w` a `[n, k]` row-major `Linear` weight. Threads: the
/// current rayon pool's, so `--jobs` bounds them.
fn matmul_accumulate(dst: &mut [f32], x: &[f32], w: &[f32], m: usize, k: usize, n: usize) {
    assert_eq!(dst.len(), m * n);
    assert_eq!(x.len(), m * k);
    assert_eq!(w.len(), n * k);
    if m == 0 || n == 0 {
        return;
    }
    let threads = rayon::current_num_threads();
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above bound every index gemm forms from these shapes and strides
    // (dst and x row-major, w read as its transpose: column stride k, row stride 1).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            true,
            x.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            k as isize,
            1,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        )
    }
}

fn repeat_rows(row: &[f32], m: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(row.len() * m);
    for _ in 0..m {
        out.extend_from_slice(row);
    }
    out
}

fn add_rows(x: &mut [f32], row: &[f32]) {
    for r in x.chunks_exact_mut(row.len()) {
        for (a, b) in r.iter_mut().zip(row) {
            *a += b;
        }
    }
}

/// A sum in eight lanes, so that it vectorises without reassociating a serial sum.
#[inline(always)]
fn sum8(a: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (a8, rest) = a.split_at(a.len() / 8 * 8);
    for x in a8.chunks_exact(8) {
        for l in 0..8 {
            acc[l] += x[l];
        }
    }
    acc.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

/// e^x for x in [-87, 88] (clamped outside): 2^n times a degree-6 polynomial on the remainder
/// (relative error about 2e-7), written so that loops over it vectorise, unlike calls into libm.
#[inline(always)]
pub(crate) fn exp_approx(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    // ln 2 in two parts (Cody and Waite), so that n * ln 2 is exact enough for large n.
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // SAFETY: n is a whole number in [-126, 127] after the clamp, so the conversion is exact (a
    // saturating `as` would not vectorise) and the exponent bits stay in range.
    let n = unsafe { n.to_int_unchecked::<i32>() };
    p * f32::from_bits(((n + 127) as u32) << 23)
}

const ROWS_PER_TASK: usize = 32;

fn layer_norm(x: &mut [f32], h: usize, w: &[f32], b: &[f32], eps: f32) {
    x.par_chunks_mut(h * ROWS_PER_TASK).for_each(|block| {
        layer_norm_rows(block, h, w, b, eps);
    });
}

dispatched! {
fn layer_norm_rows(block: &mut [f32], h: usize, w: &[f32], b: &[f32], eps: f32) {
    for row in block.chunks_exact_mut(h) {
        let mean = sum8(row) / h as f32;
        let mut sq = [0f32; 8];
        let (r8, rest) = row.split_at(h / 8 * 8);
        for c in r8.chunks_exact(8) {
            for l in 0..8 {
                sq[l] += (c[l] - mean) * (c[l] - mean);
            }
        }
        let var = (sq.iter().sum::<f32>() + rest.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>()) / h as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, w), b) in row.iter_mut().zip(w).zip(b) {
            *v = (*v - mean) * inv * w + b;
        }
    }
}
}

fn gelu_in_place(x: &mut [f32]) {
    x.par_chunks_mut(4096).for_each(gelu_slice);
}

dispatched! {
fn gelu_slice(x: &mut [f32]) {
    for v in x {
        *v = super::bert::gelu_erf_scalar(*v);
    }
}
}

#[cfg(test)]
mod tests {
    #[test]
    fn sum8_matches_a_plain_sum() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5 - 3.0).collect();
        let want: f64 = a.iter().map(|x| *x as f64).sum();
        assert!((super::sum8(&a) as f64 - want).abs() < 1e-4);
    }

    #[test]
    fn exp_approximation_is_close() {
        for i in -8700..=8800 {
            let x = i as f32 / 100.0;
            let (got, want) = (super::exp_approx(x) as f64, (x as f64).exp());
            assert!(
                ((got - want) / want).abs() < 1e-6,
                "exp({x}) = {want}, approximated as {got}"
            );
        }
    }

    #[test]
    fn matmul_accumulates_into_dst() {
        // dst (2x3) starts at 1; x (2x2) times w^T with w (3x2).
        let x = [1.0, 2.0, 3.0, 4.0];
        let w = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut dst = vec![1.0; 6];
        super::matmul_accumulate(&mut dst, &x, &w, 2, 2, 3);
        assert_eq!(dst, vec![2.0, 3.0, 4.0, 4.0, 5.0, 8.0]);
    }
}
