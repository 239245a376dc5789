//! Uncertainty for `compare`: percentile bootstrap intervals over documents, permutation tests of
//! a difference between two sets of documents, and the Benjamini–Hochberg correction.
//!
//! Every measure `compare` reports is a ratio of sums over documents (a share of mentions, a mean
//! stance score, recommendations per 1,000 words): `Σ num_d / Σ den_d`. Resampling documents,
//! not sentences or mentions, keeps what one document says together, as it should be: the
//! documents are the sampled units. Random numbers come from ChaCha8 (`rand_chacha`, a
//! maintained crate whose streams are fixed per seed across platforms and releases), seeded
//! from the measure's own key, so a rerun, or the same measure in another order, is
//! byte-identical.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

/// One measure over the documents of a cell: per document (by index into the cell) a numerator
/// and a denominator; documents not listed contribute zero to both.
#[derive(Debug, Clone, Default)]
pub struct Ratio {
    pub num: Vec<(usize, f64)>,
    pub den: Vec<(usize, f64)>,
}

impl Ratio {
    /// The measure on the documents as they are, weighted `w` (all ones when `None`).
    fn value(&self, w: Option<&[u32]>) -> Option<f64> {
        // A fold from +0.0: `sum()` of nothing is -0.0, which tables would show as "-0.0".
        let sum = |v: &[(usize, f64)]| -> f64 {
            v.iter()
                .fold(0.0, |acc, &(d, x)| acc + x * w.map_or(1.0, |w| w[d] as f64))
        };
        let den = sum(&self.den);
        (den > 0.0).then(|| sum(&self.num) / den)
    }

    pub fn estimate(&self) -> Option<f64> {
        self.value(None)
    }
}

/// A seed for the measure named by `parts` (table, group, period, key ...), from the run's seed.
pub fn seed_for(seed: u64, parts: &[&str]) -> u64 {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    u64::from_le_bytes(h.finalize()[..8].try_into().expect("8 bytes"))
}

/// The `q` quantile of sorted values, interpolated linearly between order statistics (numpy's
/// default, type 7 of Hyndman and Fan).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    debug_assert!(!sorted.is_empty());
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Resample weights: how often each of `n` documents is drawn in `n` draws with replacement.
fn resample(rng: &mut ChaCha8Rng, n: usize, w: &mut [u32]) {
    w.iter_mut().for_each(|x| *x = 0);
    for _ in 0..n {
        w[rng.random_range(0..n)] += 1;
    }
}

/// Percentile bootstrap intervals at `level` for several measures over the same `n` documents,
/// from `replicates` resamples of the documents (one resample serves every measure, as they are
/// read from the same documents). `None` for a measure with no defined value, or when there are
/// fewer than two documents (one document says nothing about how much documents vary).
pub fn bootstrap(measures: &[Ratio], n: usize, replicates: usize, level: f64, seed: u64) -> Vec<Option<(f64, f64)>> {
    if n < 2 || replicates == 0 {
        return vec![None; measures.len()];
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut w = vec![0u32; n];
    let mut draws: Vec<Vec<f64>> = vec![Vec::with_capacity(replicates); measures.len()];
    for _ in 0..replicates {
        resample(&mut rng, n, &mut w);
        for (m, d) in measures.iter().zip(&mut draws) {
            if let Some(v) = m.value(Some(&w)) {
                d.push(v);
            }
        }
    }
    let alpha = (1.0 - level) / 2.0;
    measures
        .iter()
        .zip(draws)
        .map(|(m, mut d)| {
            m.estimate()?;
            if d.is_empty() {
                return None;
            }
            d.sort_by(f64::total_cmp);
            Some((quantile(&d, alpha), quantile(&d, 1.0 - alpha)))
        })
        .collect()
}

/// A measure over two sets of documents (indices `0..n_a` are A's, `n_a..n_a+n_b` B's).
#[derive(Debug, Clone)]
pub struct Contrast {
    pub a: Option<f64>,
    pub b: Option<f64>,
    /// B minus A.
    pub difference: Option<f64>,
    pub ci: Option<(f64, f64)>,
    /// Two-sided permutation p-value of the difference.
    pub p_value: Option<f64>,
}

fn split(r: &Ratio, n_a: usize) -> (Ratio, Ratio) {
    let part = |v: &[(usize, f64)], a: bool| -> Vec<(usize, f64)> {
        v.iter()
            .filter(|(d, _)| (*d < n_a) == a)
            .map(|&(d, x)| (if a { d } else { d - n_a }, x))
            .collect()
    };
    (
        Ratio {
            num: part(&r.num, true),
            den: part(&r.den, true),
        },
        Ratio {
            num: part(&r.num, false),
            den: part(&r.den, false),
        },
    )
}

/// The difference B − A of a measure, its bootstrap interval (A and B resampled each within
/// itself) and a permutation p-value: the documents' labels shuffled `permutations` times, the
/// share of shuffles whose |difference| reaches the observed one, counted as (k + 1) / (P + 1)
/// so that it is never 0.
pub fn contrast(
    r: &Ratio,
    n_a: usize,
    n_b: usize,
    replicates: usize,
    permutations: usize,
    level: f64,
    seed: u64,
) -> Contrast {
    let (ra, rb) = split(r, n_a);
    let (a, b) = (ra.estimate(), rb.estimate());
    let difference = a.zip(b).map(|(a, b)| b - a);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let ci = difference.filter(|_| n_a >= 2 && n_b >= 2).and_then(|_| {
        let (mut wa, mut wb) = (vec![0u32; n_a], vec![0u32; n_b]);
        let mut d = Vec::with_capacity(replicates);
        for _ in 0..replicates {
            resample(&mut rng, n_a, &mut wa);
            resample(&mut rng, n_b, &mut wb);
            if let (Some(x), Some(y)) = (ra.value(Some(&wa)), rb.value(Some(&wb))) {
                d.push(y - x);
            }
        }
        if d.is_empty() {
            return None;
        }
        d.sort_by(f64::total_cmp);
        let alpha = (1.0 - level) / 2.0;
        Some((quantile(&d, alpha), quantile(&d, 1.0 - alpha)))
    });
    let p_value = difference.map(|observed| {
        let n = n_a + n_b;
        // Dense per-document values, so that a shuffle is a permutation of indices.
        let (mut num, mut den) = (vec![0.0; n], vec![0.0; n]);
        r.num.iter().for_each(|&(d, x)| num[d] += x);
        r.den.iter().for_each(|&(d, x)| den[d] += x);
        let mut order: Vec<usize> = (0..n).collect();
        let mut reached = 0usize;
        let tolerance = 1e-12 * observed.abs().max(1.0);
        for _ in 0..permutations {
            // Fisher–Yates: the first n_a of the shuffled documents are labelled A.
            for i in (1..n).rev() {
                order.swap(i, rng.random_range(0..=i));
            }
            let sums = |ix: &[usize]| ix.iter().fold((0.0, 0.0), |(s, t), &d| (s + num[d], t + den[d]));
            let ((na, da), (nb, db)) = (sums(&order[..n_a]), sums(&order[n_a..]));
            if da > 0.0 && db > 0.0 && (nb / db - na / da).abs() >= observed.abs() - tolerance {
                reached += 1;
            }
        }
        (reached + 1) as f64 / (permutations + 1) as f64
    });
    Contrast {
        a,
        b,
        difference,
        ci,
        p_value,
    }
}

/// Benjamini–Hochberg adjusted p-values (q-values), in the order given; `None`s stay `None` and
/// do not count as tests.
pub fn benjamini_hochberg(p: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_some()).collect();
    let m = idx.len() as f64;
    idx.sort_by(|&i, &j| p[i].unwrap().total_cmp(&p[j].unwrap()));
    let mut q = vec![None; p.len()];
    let mut running = 1.0f64;
    for (rank, &i) in idx.iter().enumerate().rev() {
        let v = (p[i].unwrap() * m / (rank + 1) as f64).min(running);
        running = v;
        q[i] = Some(v.min(1.0));
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ones(n: usize) -> Vec<(usize, f64)> {
        (0..n).map(|d| (d, 1.0)).collect()
    }

    #[test]
    fn quantiles_interpolate_as_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert!((quantile(&v, 0.025) - 1.075).abs() < 1e-12);
        assert!((quantile(&v, 0.5) - 2.5).abs() < 1e-12);
    }

    #[test]
    fn benjamini_hochberg_as_the_textbook_example() {
        // p = .01 .04 .03 .005: sorted .005 .01 .03 .04, times 4/rank: .02 .02 .04 .04.
        let q = benjamini_hochberg(&[Some(0.01), Some(0.04), None, Some(0.03), Some(0.005)]);
        let q: Vec<Option<f64>> = q.into_iter().map(|x| x.map(|v| (v * 1e9).round() / 1e9)).collect();
        assert_eq!(q, vec![Some(0.02), Some(0.04), None, Some(0.04), Some(0.02)]);
    }

    #[test]
    fn the_bootstrap_is_reproducible_and_covers_the_estimate() {
        // A share of 30 documents of 100 that say yes.
        let r = Ratio {
            num: (0..30).map(|d| (d, 1.0)).collect(),
            den: ones(100),
        };
        let a = bootstrap(std::slice::from_ref(&r), 100, 2000, 0.95, 7);
        let b = bootstrap(std::slice::from_ref(&r), 100, 2000, 0.95, 7);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        let (lo, hi) = a[0].unwrap();
        // The normal approximation: 0.3 ± 1.96 sqrt(.3 .7 / 100) = 0.210 .. 0.390.
        assert!((lo - 0.210).abs() < 0.02 && (hi - 0.390).abs() < 0.02, "{lo} {hi}");
    }

    #[test]
    fn permutations_find_a_planted_difference_and_not_a_null_one() {
        // 40 documents each: A says yes in 10, B in 30.
        let mut num: Vec<(usize, f64)> = (0..10).map(|d| (d, 1.0)).collect();
        num.extend((40..70).map(|d| (d, 1.0)));
        let r = Ratio { num, den: ones(80) };
        let c = contrast(&r, 40, 40, 1000, 2000, 0.95, 1);
        assert!((c.difference.unwrap() - 0.5).abs() < 1e-12);
        assert!(c.p_value.unwrap() < 0.001, "{c:?}");
        let (lo, hi) = c.ci.unwrap();
        assert!(lo > 0.2 && hi < 0.75 && lo < 0.5 && hi > 0.5, "{lo} {hi}");
        // The same documents on both sides.
        let mut num: Vec<(usize, f64)> = (0..20).map(|d| (d, 1.0)).collect();
        num.extend((40..60).map(|d| (d, 1.0)));
        let c = contrast(&Ratio { num, den: ones(80) }, 40, 40, 200, 2000, 0.95, 1);
        assert_eq!(c.difference, Some(0.0));
        assert!(c.p_value.unwrap() > 0.9, "{c:?}");
    }

    /// Two groups drawn from the same documents: the permutation test says "no difference"
    /// (p > 0.05) in at least 95 of 100 draws.
    #[test]
    fn groups_drawn_from_the_same_documents_rarely_differ() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        // A pool of 60 documents; each says yes (1) or no (0) with probability 0.4, and has its own
        // length (the denominator of a rate).
        let pool: Vec<(f64, f64)> = (0..60)
            .map(|_| (f64::from(rng.random_bool(0.4)), rng.random_range(500.0..1500.0)))
            .collect();
        let mut not_different = 0;
        for seed in 0..100u64 {
            let mut r = ChaCha8Rng::seed_from_u64(seed);
            let mut order: Vec<usize> = (0..60).collect();
            for i in (1..60).rev() {
                order.swap(i, r.random_range(0..=i));
            }
            let ratio = Ratio {
                num: order.iter().enumerate().map(|(i, &d)| (i, pool[d].0)).collect(),
                den: order.iter().enumerate().map(|(i, &d)| (i, pool[d].1)).collect(),
            };
            let c = contrast(&ratio, 30, 30, 0, 2000, 0.95, seed);
            if c.p_value.unwrap() > 0.05 {
                not_different += 1;
            }
        }
        assert!(not_different >= 95, "{not_different} of 100");
    }

    /// The permutation p-value against an independent exact computation: every one of the
    /// C(12, 6) = 924 ways to label six of twelve documents A.
    #[test]
    fn permutation_p_values_match_exact_enumeration() {
        let values: [f64; 12] = [3.0, 0.0, 1.0, 2.0, 0.0, 1.0, 4.0, 2.0, 5.0, 3.0, 1.0, 6.0];
        let lengths: [f64; 12] = [1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 2.0, 1.0, 1.0];
        let rate = |ix: &[usize]| {
            let (n, d) = ix.iter().fold((0.0, 0.0), |(n, d), &i| (n + values[i], d + lengths[i]));
            n / d
        };
        let observed = rate(&[6, 7, 8, 9, 10, 11]) - rate(&[0, 1, 2, 3, 4, 5]);
        let (mut reached, mut total) = (0, 0);
        for mask in 0u32..(1 << 12) {
            if mask.count_ones() != 6 {
                continue;
            }
            let a: Vec<usize> = (0..12).filter(|i| mask & (1 << i) != 0).collect();
            let b: Vec<usize> = (0..12).filter(|i| mask & (1 << i) == 0).collect();
            total += 1;
            if (rate(&b) - rate(&a)).abs() >= observed.abs() - 1e-12 {
                reached += 1;
            }
        }
        let exact = reached as f64 / total as f64;
        let r = Ratio {
            num: values.iter().copied().enumerate().collect(),
            den: lengths.iter().copied().enumerate().collect(),
        };
        let c = contrast(&r, 6, 6, 0, 20_000, 0.95, 3);
        // Monte Carlo error: sd = sqrt(p(1 - p) / 20000) < 0.0036; four of them.
        assert!(
            (c.p_value.unwrap() - exact).abs() < 0.015,
            "{:?} vs exact {exact}",
            c.p_value
        );
    }

    /// The bootstrap interval against the exact bootstrap distribution: all 5^5 = 3125 equally
    /// likely resamples of five documents, enumerated.
    #[test]
    fn bootstrap_intervals_match_the_exact_bootstrap_distribution() {
        let values = [0.0, 1.0, 1.0, 3.0, 0.0];
        let lengths = [1.0, 2.0, 1.0, 2.0, 1.0];
        let mut exact = Vec::new();
        for code in 0..3125usize {
            let (mut n, mut d, mut c) = (0.0, 0.0, code);
            for _ in 0..5 {
                n += values[c % 5];
                d += lengths[c % 5];
                c /= 5;
            }
            exact.push(n / d);
        }
        exact.sort_by(f64::total_cmp);
        let (lo, hi) = (quantile(&exact, 0.025), quantile(&exact, 0.975));
        let r = Ratio {
            num: values.iter().copied().enumerate().collect(),
            den: lengths.iter().copied().enumerate().collect(),
        };
        let (blo, bhi) = bootstrap(&[r], 5, 40_000, 0.95, 11)[0].unwrap();
        assert!(
            (blo - lo).abs() < 0.03 && (bhi - hi).abs() < 0.03,
            "({blo}, {bhi}) vs exact ({lo}, {hi})"
        );
    }
}
