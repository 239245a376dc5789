//! Int8 matrix products for the encoder's inference layers.
//!
//! Weights are quantised once, when a model loads, per output channel and symmetric, to 7 bits
//! ([-63, 63]); activations are quantised per row and symmetric to 8 bits ([-127, 127]) and
//! shifted by 128 to unsigned bytes. The AVX2 kernel multiplies unsigned activation bytes by
//! signed weight bytes with `vpmaddubsw` (pairs summed to 16 bits: at most 2 x 255 x 63 =
//! 32,130, so the 7-bit weights never saturate it, the reason for 7 and not 8 bits on a CPU
//! without VNNI, as onnxruntime's and fbgemm's AVX2 kernels do) and `vpmaddwd` to 32-bit sums;
//! the shift is taken back out with each channel's weight sum. Results are dequantised with the
//! row's and the channel's scales and accumulated into the output, so bias and residual can be
//! written there first, as for the f32 path. A portable loop gives the same integers.

use rayon::prelude::*;

/// Weights `[n, k]` (torch `Linear` layout), quantised and packed for the kernel: blocks of 8
/// output channels, and in each block, for every 4 inputs, 4 bytes of each of the 8 channels.
#[derive(Debug, Clone)]
pub struct QuantMatrix {
    pub n: usize,
    pub k: usize,
    packed: Vec<i8>,
    /// Per output channel: the weight scale, and the sum of its quantised weights.
    scale: Vec<f32>,
    sum: Vec<i32>,
}

/// The largest quantised weight magnitude (7 bits, see the module docs).
const W_MAX: f32 = 63.0;
/// The largest quantised activation magnitude.
const X_MAX: f32 = 127.0;

impl QuantMatrix {
    /// Quantises `w` (`[n, k]` row-major); `n` must be a multiple of 8 and `k` of 4.
    pub fn new(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), n * k);
        assert!(
            n.is_multiple_of(8) && k.is_multiple_of(4),
            "int8 weights need n % 8 == 0 and k % 4 == 0 (got {n} x {k})"
        );
        let mut scale = vec![0f32; n];
        let mut q = vec![0i8; n * k];
        let mut sum = vec![0i32; n];
        for o in 0..n {
            let row = &w[o * k..(o + 1) * k];
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let s = if max > 0.0 { max / W_MAX } else { 1.0 };
            scale[o] = s;
            for (i, v) in row.iter().enumerate() {
                let x = (v / s).round().clamp(-W_MAX, W_MAX) as i8;
                q[o * k + i] = x;
                sum[o] += x as i32;
            }
        }
        let mut packed = vec![0i8; n * k];
        let quads = k / 4;
        for b in 0..n / 8 {
            for qd in 0..quads {
                for o in 0..8 {
                    for j in 0..4 {
                        packed[b * quads * 32 + qd * 32 + o * 4 + j] = q[(b * 8 + o) * k + qd * 4 + j];
                    }
                }
            }
        }
        Self {
            n,
            k,
            packed,
            scale,
            sum,
        }
    }

    /// The quantised weight of channel `o`, input `i`, as the kernel reads it (for tests).
    fn weight(&self, o: usize, i: usize) -> i8 {
        let quads = self.k / 4;
        self.packed[(o / 8) * quads * 32 + (i / 4) * 32 + (o % 8) * 4 + i % 4]
    }
}

/// Rows of `x` (`[m, k]`) as unsigned bytes (quantised value + 128) and their scales.
fn quantise_rows(x: &[f32], m: usize, k: usize) -> (Vec<u8>, Vec<f32>) {
    let mut q = vec![0u8; m * k];
    let mut scales = vec![0f32; m];
    q.par_chunks_mut(k)
        .zip(scales.par_iter_mut())
        .zip(x.par_chunks(k))
        .for_each(|((qr, s), xr)| *s = quantise_row(xr, qr));
    (q, scales)
}

/// One row: its scale, and its bytes written to `out`. Ties round to even in both paths, so the
/// AVX2 path (a fifth of the int8 time when it was scalar `round`) and the portable one agree.
fn quantise_row(xr: &[f32], out: &mut [u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2; the kernel reads `xr` and writes `out` only within their
            // common length.
            return unsafe { avx2::quantise_row(xr, out) };
        }
    }
    let max = xr.iter().fold(0f32, |a, v| a.max(v.abs()));
    let s = if max > 0.0 { max / X_MAX } else { 1.0 };
    quantise_tail(xr, out, 1.0 / s);
    s
}

fn quantise_tail(xr: &[f32], out: &mut [u8], inv: f32) {
    for (d, v) in out.iter_mut().zip(xr) {
        *d = ((v * inv).round_ties_even().clamp(-X_MAX, X_MAX) as i32 + 128) as u8;
    }
}

/// `dst[m, n] += x[m, k] · wᵀ` with `w` quantised; `x` is quantised per row here.
pub fn qmatmul_accumulate(dst: &mut [f32], x: &[f32], w: &QuantMatrix, m: usize) {
    let (k, n) = (w.k, w.n);
    assert_eq!(dst.len(), m * n);
    assert_eq!(x.len(), m * k);
    if m == 0 {
        return;
    }
    let (xq, xs) = quantise_rows(x, m, k);
    // Row blocks in parallel; each task covers all output channels of its rows.
    const ROWS: usize = 16;
    dst.par_chunks_mut(ROWS * n).enumerate().for_each(|(blk, d)| {
        let r0 = blk * ROWS;
        let rows = d.len() / n;
        rows_kernel(d, &xq[r0 * k..(r0 + rows) * k], &xs[r0..r0 + rows], w, rows);
    });
}

fn rows_kernel(dst: &mut [f32], xq: &[u8], xs: &[f32], w: &QuantMatrix, rows: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, and `avx2::rows` reads only inside the slices it is given
            // (checked lengths: xq is rows * k, the packed weights n * k, dst rows * n).
            unsafe { avx2::rows(dst, xq, xs, w, rows) };
            return;
        }
    }
    portable_rows(dst, xq, xs, w, rows);
}

fn portable_rows(dst: &mut [f32], xq: &[u8], xs: &[f32], w: &QuantMatrix, rows: usize) {
    let (k, n) = (w.k, w.n);
    for r in 0..rows {
        let xr = &xq[r * k..(r + 1) * k];
        for o in 0..n {
            let mut acc = 0i32;
            for (i, &a) in xr.iter().enumerate() {
                acc += a as i32 * w.weight(o, i) as i32;
            }
            dst[r * n + o] += xs[r] * w.scale[o] * (acc - 128 * w.sum[o]) as f32;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::QuantMatrix;
    use std::arch::x86_64::*;

    /// 4 rows by 16 channels at a time; remaining rows one by one.
    #[target_feature(enable = "avx2")]
    pub unsafe fn rows(dst: &mut [f32], xq: &[u8], xs: &[f32], w: &QuantMatrix, rows: usize) {
        let (k, n) = (w.k, w.n);
        assert!(xq.len() >= rows * k && dst.len() >= rows * n && w.packed.len() == n * k);
        let quads = k / 4;
        let ones = _mm256_set1_epi16(1);
        let mut r = 0;
        while r + 4 <= rows {
            let mut b = 0;
            while b < n / 8 {
                let two = b + 1 < n / 8;
                let mut acc = [_mm256_setzero_si256(); 8];
                let w0 = w.packed.as_ptr().add(b * quads * 32);
                let w1 = if two {
                    w.packed.as_ptr().add((b + 1) * quads * 32)
                } else {
                    w0
                };
                for q in 0..quads {
                    let wa = _mm256_loadu_si256(w0.add(q * 32) as *const __m256i);
                    let wb = _mm256_loadu_si256(w1.add(q * 32) as *const __m256i);
                    for rr in 0..4 {
                        let a =
                            _mm256_set1_epi32((xq.as_ptr().add((r + rr) * k + q * 4) as *const i32).read_unaligned());
                        let pa = _mm256_madd_epi16(_mm256_maddubs_epi16(a, wa), ones);
                        acc[rr * 2] = _mm256_add_epi32(acc[rr * 2], pa);
                        if two {
                            let pb = _mm256_madd_epi16(_mm256_maddubs_epi16(a, wb), ones);
                            acc[rr * 2 + 1] = _mm256_add_epi32(acc[rr * 2 + 1], pb);
                        }
                    }
                }
                for rr in 0..4 {
                    for half in 0..(1 + usize::from(two)) {
                        store(dst, xs, w, r + rr, (b + half) * 8, acc[rr * 2 + half], n);
                    }
                }
                b += 1 + usize::from(two);
            }
            r += 4;
        }
        while r < rows {
            for b in 0..n / 8 {
                let mut acc = _mm256_setzero_si256();
                let w0 = w.packed.as_ptr().add(b * quads * 32);
                for q in 0..quads {
                    let wa = _mm256_loadu_si256(w0.add(q * 32) as *const __m256i);
                    let a = _mm256_set1_epi32((xq.as_ptr().add(r * k + q * 4) as *const i32).read_unaligned());
                    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, wa), ones));
                }
                store(dst, xs, w, r, b * 8, acc, n);
            }
            r += 1;
        }
    }

    /// A row's scale (its largest magnitude over 127) and its bytes, 32 at a time.
    #[target_feature(enable = "avx2")]
    pub unsafe fn quantise_row(xr: &[f32], out: &mut [u8]) -> f32 {
        let k = xr.len().min(out.len());
        let abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff));
        let mut mx = _mm256_setzero_ps();
        let mut i = 0;
        while i + 8 <= k {
            mx = _mm256_max_ps(mx, _mm256_and_ps(_mm256_loadu_ps(xr.as_ptr().add(i)), abs_mask));
            i += 8;
        }
        let mut lanes = [0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), mx);
        let mut max = lanes.iter().fold(0f32, |a, &v| a.max(v));
        for v in &xr[i..k] {
            max = max.max(v.abs());
        }
        let s = if max > 0.0 { max / super::X_MAX } else { 1.0 };
        let inv = 1.0 / s;
        let vinv = _mm256_set1_ps(inv);
        // packs interleave 128-bit lanes; this puts the 8 groups of 4 bytes back in order.
        let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        let flip = _mm256_set1_epi8(-128);
        let mut j = 0;
        while j + 32 <= k {
            let p = xr.as_ptr().add(j);
            // _mm256_cvtps_epi32 rounds to nearest even (the default MXCSR mode).
            let a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(p), vinv));
            let b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(p.add(8)), vinv));
            let c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(p.add(16)), vinv));
            let d = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(p.add(24)), vinv));
            let bytes = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
            let bytes = _mm256_xor_si256(_mm256_permutevar8x32_epi32(bytes, order), flip);
            _mm256_storeu_si256(out.as_mut_ptr().add(j) as *mut __m256i, bytes);
            j += 32;
        }
        super::quantise_tail(&xr[j..k], &mut out[j..k], inv);
        s
    }

    /// Dequantises 8 channels' sums of row `r` and adds them to `dst`.
    #[target_feature(enable = "avx2")]
    unsafe fn store(dst: &mut [f32], xs: &[f32], w: &QuantMatrix, r: usize, o: usize, acc: __m256i, n: usize) {
        let sums = _mm256_loadu_si256(w.sum.as_ptr().add(o) as *const __m256i);
        let shifted = _mm256_sub_epi32(acc, _mm256_slli_epi32(sums, 7));
        let scale = _mm256_mul_ps(_mm256_set1_ps(xs[r]), _mm256_loadu_ps(w.scale.as_ptr().add(o)));
        let d = dst.as_mut_ptr().add(r * n + o);
        let v = _mm256_add_ps(_mm256_loadu_ps(d), _mm256_mul_ps(_mm256_cvtepi32_ps(shifted), scale));
        _mm256_storeu_ps(d, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn row_quantisation_is_the_same_in_both_paths() {
        // 100 values: three blocks of 32 and a tail; exact ties (0.5 steps) included.
        let mut x = data(100, 3);
        x[5] = 0.0;
        x[7] = x[0] * 0.5 / 127.0 * 3.0;
        let mut fast = vec![0u8; 100];
        let s = quantise_row(&x, &mut fast);
        let max = x.iter().fold(0f32, |a, v| a.max(v.abs()));
        assert_eq!(s, max / X_MAX);
        let mut portable = vec![0u8; 100];
        quantise_tail(&x, &mut portable, 1.0 / s);
        assert_eq!(fast, portable);
        assert_eq!(fast[5], 128);
    }

    #[test]
    fn kernel_and_portable_loop_agree_and_approximate_f32() {
        let (m, k, n) = (7, 64, 24);
        let x = data(m * k, 1);
        let w = data(n * k, 2);
        let q = QuantMatrix::new(&w, n, k);
        let mut fast = vec![0.5f32; m * n];
        qmatmul_accumulate(&mut fast, &x, &q, m);
        let (xq, xs) = quantise_rows(&x, m, k);
        let mut portable = vec![0.5f32; m * n];
        portable_rows(&mut portable, &xq, &xs, &q, m);
        for (a, b) in fast.iter().zip(&portable) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        for r in 0..m {
            for o in 0..n {
                let exact: f32 = 0.5 + (0..k).map(|i| x[r * k + i] * w[o * k + i]).sum::<f32>();
                assert!((fast[r * n + o] - exact).abs() < 0.05, "{} vs {exact}", fast[r * n + o]);
            }
        }
    }
}
