//! How sure each number of `compare` is: every mean and share of the long tables is a ratio of
//! sums over documents (`stats::Ratio`); here the per-document numerators and denominators are
//! read once from the result tables, and each cell (group and period) gets its bootstrap interval,
//! and each measure of two chosen groups or periods its contrast.

use crate::stats::{self, Ratio};
use crate::tables::column_strings;
use anyhow::Result;
use polars::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// The bootstrap and permutation settings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Uncertainty {
    /// Bootstrap resamples per cell (0: no intervals).
    pub bootstrap: usize,
    /// Permutations per contrast.
    pub permutations: usize,
    /// Interval level (0.95).
    pub level: f64,
    pub seed: u64,
}

/// Per-document numerators of one kind of measure, by key (entity, target, instrument ...), and
/// the denominators they share.
#[derive(Default)]
struct Family {
    num: BTreeMap<String, HashMap<usize, f64>>,
    /// Denominator per key; `None` key means one shared by every key.
    den: BTreeMap<Option<String>, HashMap<usize, f64>>,
}

impl Family {
    fn add_num(&mut self, key: &str, doc: usize, x: f64) {
        *self.num.entry(key.to_string()).or_default().entry(doc).or_default() += x;
    }
    fn add_den(&mut self, key: Option<&str>, doc: usize, x: f64) {
        *self
            .den
            .entry(key.map(str::to_string))
            .or_default()
            .entry(doc)
            .or_default() += x;
    }
    /// The measure `key` over `docs` (global indices), re-indexed 0.. in that order.
    fn ratio(&self, key: &str, docs: &[usize]) -> Ratio {
        let empty = HashMap::new();
        let num = self.num.get(key).unwrap_or(&empty);
        let den = self
            .den
            .get(&Some(key.to_string()))
            .or_else(|| self.den.get(&None))
            .unwrap_or(&empty);
        let pick = |m: &HashMap<usize, f64>| -> Vec<(usize, f64)> {
            docs.iter()
                .enumerate()
                .filter_map(|(i, d)| m.get(d).map(|&x| (i, x)))
                .collect()
        };
        Ratio {
            num: pick(num),
            den: pick(den),
        }
    }
}

/// The measures `compare` reports, per document.
pub struct Measures {
    /// Global document index by doc_id.
    index: HashMap<String, usize>,
    families: BTreeMap<&'static str, Family>,
}

/// The measures: (family, measure column) pairs as the long tables name them.
pub const SALIENCE_SHARE: (&str, &str) = ("salience", "share");
pub const STANCE_MEAN: (&str, &str) = ("stance_score", "mean_score");
pub const FAVOR_SHARE: (&str, &str) = ("stance_favor", "favor_share");
pub const AGAINST_SHARE: (&str, &str) = ("stance_against", "against_share");
pub const INSTRUMENT_SHARE: (&str, &str) = ("instrument", "share");
pub const INSTRUMENT_RATE: (&str, &str) = ("instrument_rate", "recommendations_per_1000_words");
pub const STRENGTH_SHARE: (&str, &str) = ("strength", "share");
pub const STRENGTH_RATE: (&str, &str) = ("strength_rate", "recommendations_per_1000_words");
pub const CORPUS_RATE: (&str, &str) = ("corpus_rate", "recommendations_per_1000_words");

impl Measures {
    /// Reads the per-document inputs of every measure from the result tables (`groups` names the
    /// documents, one row per document and window).
    pub fn read(
        groups: &DataFrame,
        mentions: Option<&DataFrame>,
        stances: Option<&DataFrame>,
        recs: Option<&DataFrame>,
    ) -> Result<Self> {
        let mut index = HashMap::new();
        let mut words = HashMap::new();
        for (id, w) in column_strings(groups, "doc_id")?
            .into_iter()
            .zip(crate::tables::column_ints(groups, "words")?)
        {
            let Some(id) = id else { continue };
            let n = index.len();
            let i = *index.entry(id).or_insert(n);
            words.insert(i, w as f64);
        }
        let mut families: BTreeMap<&'static str, Family> = BTreeMap::new();
        let doc_of = |id: &Option<String>| id.as_ref().and_then(|d| index.get(d)).copied();
        if let Some(m) = mentions {
            let f = families.entry(SALIENCE_SHARE.0).or_default();
            for (d, e) in column_strings(m, "doc_id")?.iter().zip(column_strings(m, "entity_id")?) {
                let (Some(d), Some(e)) = (doc_of(d), e) else { continue };
                f.add_num(&e, d, 1.0);
                f.add_den(None, d, 1.0);
            }
        }
        if let Some(s) = stances {
            let scores = s.column("score")?.cast(&DataType::Float64)?;
            let scores: Vec<Option<f64>> = scores.f64()?.iter().collect();
            let labels = column_strings(s, "stance")?;
            for ((d, t), (score, label)) in column_strings(s, "doc_id")?
                .iter()
                .zip(column_strings(s, "target")?)
                .zip(scores.into_iter().zip(labels))
            {
                let (Some(d), Some(t)) = (doc_of(d), t) else { continue };
                for (fam, wanted) in [
                    (STANCE_MEAN.0, None),
                    (FAVOR_SHARE.0, Some("favor")),
                    (AGAINST_SHARE.0, Some("against")),
                ] {
                    let f = families.entry(fam).or_default();
                    let x = match wanted {
                        None => score.unwrap_or(0.0),
                        Some(w) => f64::from(label.as_deref() == Some(w)),
                    };
                    f.add_num(&t, d, x);
                    f.add_den(Some(&t), d, 1.0);
                }
            }
        }
        // Rates per 1,000 words are over every document of a cell, with or without recommendations.
        let words_den = |f: &mut Family| {
            for (&d, &w) in &words {
                f.add_den(None, d, w);
            }
        };
        if let Some(r) = recs {
            let ids = column_strings(r, "doc_id")?;
            for (share, rate, column) in [
                (INSTRUMENT_SHARE.0, INSTRUMENT_RATE.0, "instrument"),
                (STRENGTH_SHARE.0, STRENGTH_RATE.0, "strength"),
            ] {
                let values = column_strings(r, column)?;
                let mut fs = Family::default();
                let mut fr = Family::default();
                words_den(&mut fr);
                for (d, v) in ids.iter().zip(values) {
                    let Some(d) = doc_of(d) else { continue };
                    let v = v.unwrap_or_default();
                    fs.add_num(&v, d, 1.0);
                    fs.add_den(None, d, 1.0);
                    fr.add_num(&v, d, 1000.0);
                }
                families.insert(share, fs);
                families.insert(rate, fr);
            }
            let mut fc = Family::default();
            words_den(&mut fc);
            for d in ids.iter().filter_map(doc_of) {
                fc.add_num("", d, 1000.0);
            }
            families.insert(CORPUS_RATE.0, fc);
        }
        Ok(Self { index, families })
    }

    fn docs(&self, ids: &[String]) -> Vec<usize> {
        ids.iter().filter_map(|d| self.index.get(d)).copied().collect()
    }

    /// The measure's value and interval over the documents `ids`.
    pub fn interval(
        &self,
        family: &str,
        key: &str,
        ids: &[String],
        u: &Uncertainty,
        cell: &[&str],
    ) -> Option<(f64, f64)> {
        let f = self.families.get(family)?;
        let docs = self.docs(ids);
        let r = f.ratio(key, &docs);
        let mut parts = vec![family, key];
        parts.extend_from_slice(cell);
        stats::bootstrap(
            std::slice::from_ref(&r),
            docs.len(),
            u.bootstrap,
            u.level,
            stats::seed_for(u.seed, &parts),
        )
        .pop()
        .flatten()
    }

    /// The keys a family has (entities, targets, instruments ...).
    pub fn keys(&self, family: &str) -> Vec<String> {
        self.families
            .get(family)
            .map(|f| f.num.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether any document of `a` or `b` has the measure: a non-zero numerator, or a
    /// denominator of the key's own (a stance toward the target, whatever its score).
    pub fn observed(&self, family: &str, key: &str, a: &[String], b: &[String]) -> bool {
        let Some(f) = self.families.get(family) else {
            return false;
        };
        let (num, own_den) = (f.num.get(key), f.den.get(&Some(key.to_string())));
        self.docs(a).iter().chain(&self.docs(b)).any(|d| {
            num.and_then(|n| n.get(d)).is_some_and(|&x| x != 0.0) || own_den.is_some_and(|o| o.contains_key(d))
        })
    }

    /// B minus A for the measure, over the documents `a` and `b`.
    pub fn contrast(
        &self,
        family: &str,
        key: &str,
        a: &[String],
        b: &[String],
        u: &Uncertainty,
    ) -> Option<stats::Contrast> {
        let f = self.families.get(family)?;
        let (da, db) = (self.docs(a), self.docs(b));
        let both: Vec<usize> = da.iter().chain(&db).copied().collect();
        let r = f.ratio(key, &both);
        Some(stats::contrast(
            &r,
            da.len(),
            db.len(),
            u.bootstrap,
            u.permutations,
            u.level,
            stats::seed_for(u.seed, &["contrast", family, key]),
        ))
    }
}

/// The documents of every cell (group, period) of `groups`.
pub fn cells(groups: &DataFrame) -> Result<BTreeMap<(String, String), Vec<String>>> {
    let mut out: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for ((d, g), p) in column_strings(groups, "doc_id")?
        .into_iter()
        .zip(column_strings(groups, "group")?)
        .zip(column_strings(groups, "period")?)
    {
        if let (Some(d), Some(g), Some(p)) = (d, g, p) {
            out.entry((g, p)).or_default().push(d);
        }
    }
    Ok(out)
}

/// Adds `<measure>_ci_low` and `<measure>_ci_high` after each measure column of a long table,
/// and `documents` (the documents of the cell) when it has none. `key_col` names the measure's
/// key (entity_id, target, instrument), `None` for tables with one row per cell.
pub fn add_intervals(
    df: DataFrame,
    key_col: Option<&str>,
    measures: &[(&str, &str)],
    m: &Measures,
    cells: &BTreeMap<(String, String), Vec<String>>,
    u: &Uncertainty,
) -> Result<DataFrame> {
    let g = column_strings(&df, "group")?;
    let p = column_strings(&df, "period")?;
    let keys = match key_col {
        Some(k) => column_strings(&df, k)?,
        None => vec![Some(String::new()); df.height()],
    };
    let mut df = df;
    let empty = Vec::new();
    let cell_docs = |i: usize| -> &Vec<String> {
        match (&g[i], &p[i]) {
            (Some(g), Some(p)) => cells.get(&(g.clone(), p.clone())).unwrap_or(&empty),
            _ => &empty,
        }
    };
    if !df.get_column_names().iter().any(|c| c.as_str() == "documents") {
        let n: Vec<i64> = (0..df.height()).map(|i| cell_docs(i).len() as i64).collect();
        df.with_column(Column::new("documents".into(), n))?;
    }
    for (family, column) in measures {
        let (mut lo, mut hi) = (Vec::with_capacity(df.height()), Vec::with_capacity(df.height()));
        for i in 0..df.height() {
            let ci = if u.bootstrap == 0 {
                None
            } else {
                let key = keys[i].clone().unwrap_or_default();
                m.interval(
                    family,
                    &key,
                    cell_docs(i),
                    u,
                    &[g[i].as_deref().unwrap_or(""), p[i].as_deref().unwrap_or("")],
                )
            };
            lo.push(ci.map(|c| round4(c.0)));
            hi.push(ci.map(|c| round4(c.1)));
        }
        let at = df.get_column_index(column).map(|i| i + 1).unwrap_or(df.width());
        df.insert_column(at, Column::new(format!("{column}_ci_low").into(), lo))?;
        df.insert_column(at + 1, Column::new(format!("{column}_ci_high").into(), hi))?;
    }
    Ok(df)
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// One row of the contrasts table.
struct ContrastRow {
    table: &'static str,
    measure: &'static str,
    key: String,
    c: stats::Contrast,
}

/// The contrasts table: for each measure and key, A's and B's values, B − A with its interval, a
/// permutation p-value and the Benjamini–Hochberg q-value across the measures of one table.
pub fn contrasts(
    m: &Measures,
    labels: (&str, &str),
    docs: (&[String], &[String]),
    names: &HashMap<(String, String), String>,
    u: &Uncertainty,
) -> Result<DataFrame> {
    let plan: [(&'static str, (&str, &'static str)); 9] = [
        ("corpus", (CORPUS_RATE.0, "recommendations_per_1000_words")),
        ("salience", (SALIENCE_SHARE.0, "share")),
        ("stance", (STANCE_MEAN.0, "mean_score")),
        ("stance", (FAVOR_SHARE.0, "favor_share")),
        ("stance", (AGAINST_SHARE.0, "against_share")),
        ("instruments", (INSTRUMENT_SHARE.0, "share")),
        ("instruments", (INSTRUMENT_RATE.0, "recommendations_per_1000_words")),
        ("strength", (STRENGTH_SHARE.0, "share")),
        ("strength", (STRENGTH_RATE.0, "recommendations_per_1000_words")),
    ];
    let mut rows: Vec<ContrastRow> = Vec::new();
    for (table, (family, measure)) in plan {
        for key in m.keys(family) {
            // Only what the two sides' documents have at all (an entity neither names is no
            // measure of them).
            if !m.observed(family, &key, docs.0, docs.1) {
                continue;
            }
            if let Some(c) = m.contrast(family, &key, docs.0, docs.1, u) {
                rows.push(ContrastRow { table, measure, key, c });
            }
        }
    }
    // Benjamini–Hochberg within each table.
    let mut q = vec![None; rows.len()];
    for table in ["corpus", "salience", "stance", "instruments", "strength"] {
        let ix: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].table == table).collect();
        let adjusted = stats::benjamini_hochberg(&ix.iter().map(|&i| rows[i].c.p_value).collect::<Vec<_>>());
        for (&i, v) in ix.iter().zip(adjusted) {
            q[i] = v;
        }
    }
    let r4 = |x: Option<f64>| x.map(round4);
    let name = |r: &ContrastRow| {
        names
            .get(&(r.table.to_string(), r.key.clone()))
            .cloned()
            .unwrap_or_else(|| r.key.clone())
    };
    Ok(DataFrame::new_infer_height(vec![
        Column::new("table".into(), rows.iter().map(|r| r.table).collect::<Vec<_>>()),
        Column::new("measure".into(), rows.iter().map(|r| r.measure).collect::<Vec<_>>()),
        Column::new("key".into(), rows.iter().map(|r| r.key.clone()).collect::<Vec<_>>()),
        Column::new("name".into(), rows.iter().map(name).collect::<Vec<_>>()),
        Column::new("a".into(), vec![labels.0; rows.len()]),
        Column::new("b".into(), vec![labels.1; rows.len()]),
        Column::new("documents_a".into(), vec![docs.0.len() as i64; rows.len()]),
        Column::new("documents_b".into(), vec![docs.1.len() as i64; rows.len()]),
        Column::new("value_a".into(), rows.iter().map(|r| r4(r.c.a)).collect::<Vec<_>>()),
        Column::new("value_b".into(), rows.iter().map(|r| r4(r.c.b)).collect::<Vec<_>>()),
        Column::new(
            "difference".into(),
            rows.iter().map(|r| r4(r.c.difference)).collect::<Vec<_>>(),
        ),
        Column::new(
            "difference_ci_low".into(),
            rows.iter().map(|r| r4(r.c.ci.map(|c| c.0))).collect::<Vec<_>>(),
        ),
        Column::new(
            "difference_ci_high".into(),
            rows.iter().map(|r| r4(r.c.ci.map(|c| c.1))).collect::<Vec<_>>(),
        ),
        Column::new(
            "p_value".into(),
            rows.iter().map(|r| r4(r.c.p_value)).collect::<Vec<_>>(),
        ),
        Column::new("q_value".into(), q.into_iter().map(r4).collect::<Vec<_>>()),
    ])?)
}
