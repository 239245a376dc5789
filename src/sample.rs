//! `rhetor sample`: a stratified random sample of an analyze run's sentences or documents for
//! hand-coding, the step every methods reviewer asks for. The coder's sheet carries the unit,
//! its metadata and empty columns to fill in; rhetor's own labels go to a key file beside it, so
//! that they are hidden from the coder by default and cannot anchor the coding (`--show-labels`
//! puts them in the sheet too, as `rhetor_*` columns).

use crate::compare::Period;
use crate::stats::seed_for;
use crate::tables::{column_ints, column_strings, read_result_table};
use anyhow::{bail, Context, Result};
use polars::prelude::*;
use rand::seq::IndexedRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Sentence,
    Document,
}

#[derive(Debug, Clone)]
pub struct SampleConfig {
    pub results: PathBuf,
    pub unit: Unit,
    pub n: usize,
    /// Documents columns (or `period`, the year of the date) whose combinations are the strata.
    pub stratify: Vec<String>,
    pub seed: u64,
    pub out: PathBuf,
    pub show_labels: bool,
    pub csv_raw: bool,
}

/// What `sample` wrote.
pub struct SampleSummary {
    pub units: usize,
    pub strata: usize,
    pub sheet: PathBuf,
    pub key: PathBuf,
}

/// How many of `n` units each stratum gets: proportional to its size (largest remainders), at
/// least one per stratum while `n` allows, never more than it has.
pub fn allocate(sizes: &[usize], n: usize) -> Vec<usize> {
    let total: usize = sizes.iter().sum();
    let n = n.min(total);
    let mut take: Vec<usize> = vec![0; sizes.len()];
    if n == 0 {
        return take;
    }
    // One each first (the smallest strata are the ones a proportional draw would miss).
    let mut left = n;
    let mut order: Vec<usize> = (0..sizes.len()).filter(|&i| sizes[i] > 0).collect();
    order.sort_by_key(|&i| (sizes[i], i));
    for &i in &order {
        if left == 0 {
            break;
        }
        take[i] = 1;
        left -= 1;
    }
    // The rest in proportion to what each stratum has left.
    while left > 0 {
        let room: usize = (0..sizes.len()).map(|i| sizes[i] - take[i]).sum();
        if room == 0 {
            break;
        }
        let quotas: Vec<f64> = (0..sizes.len())
            .map(|i| left as f64 * (sizes[i] - take[i]) as f64 / room as f64)
            .collect();
        let mut given = 0;
        for i in 0..sizes.len() {
            let q = quotas[i].floor() as usize;
            take[i] += q;
            given += q;
        }
        let mut rest: Vec<usize> = (0..sizes.len()).filter(|&i| take[i] < sizes[i]).collect();
        rest.sort_by(|&a, &b| {
            let fa = quotas[a] - quotas[a].floor();
            let fb = quotas[b] - quotas[b].floor();
            fb.total_cmp(&fa).then(a.cmp(&b))
        });
        left -= given;
        for i in rest {
            if left == 0 {
                break;
            }
            take[i] += 1;
            left -= 1;
        }
    }
    take
}

/// The documents' stratum keys: the values of the stratify columns joined by " | ".
fn strata_of(docs: &DataFrame, stratify: &[String]) -> Result<HashMap<String, String>> {
    let names: Vec<String> = docs.get_column_names().iter().map(|c| c.to_string()).collect();
    let mut cols = Vec::new();
    for s in stratify {
        if s == "period" {
            let dates = column_strings(docs, "date")?;
            cols.push(
                dates
                    .iter()
                    .map(|d| Some(Period::Year.of(d.as_deref())))
                    .collect::<Vec<_>>(),
            );
        } else if names.contains(s) {
            cols.push(column_strings(docs, s)?);
        } else {
            bail!(
                "--stratify: the documents table has no column {s:?} (and it is not \"period\"); its columns are: {}",
                names.join(", ")
            );
        }
    }
    let ids = column_strings(docs, "doc_id")?;
    Ok(ids
        .into_iter()
        .enumerate()
        .filter_map(|(i, id)| {
            let key = cols
                .iter()
                .map(|c| {
                    c[i].clone()
                        .filter(|v| !v.trim().is_empty())
                        .unwrap_or_else(|| crate::compare::UNKNOWN.into())
                })
                .collect::<Vec<_>>()
                .join(" | ");
            Some((id?, key))
        })
        .collect())
}

/// Draws the sample and writes the coder's sheet and the key.
pub fn run(c: &SampleConfig) -> Result<SampleSummary> {
    crate::manifest::read_completed(&c.results)?;
    let docs = read_result_table(&c.results, "documents")?
        .with_context(|| format!("{} holds no documents.parquet", c.results.display()))?;
    let stratum = strata_of(&docs, &c.stratify)?;
    let doc_ids = column_strings(&docs, "doc_id")?;
    let authors = column_strings(&docs, "author")?;
    let dates = column_strings(&docs, "date")?;
    let titles = column_strings(&docs, "title")?;
    let doc_row: HashMap<String, usize> = doc_ids
        .iter()
        .enumerate()
        .filter_map(|(i, d)| Some((d.clone()?, i)))
        .collect();
    // The units: (doc_id, sent_id or -1, text).
    let mut units: Vec<(String, i64, String)> = Vec::new();
    match c.unit {
        Unit::Sentence => {
            let s = read_result_table(&c.results, "sentences")?
                .with_context(|| format!("{} holds no sentences.parquet", c.results.display()))?;
            for ((d, k), t) in column_strings(&s, "doc_id")?
                .into_iter()
                .zip(column_ints(&s, "sent_id")?)
                .zip(column_strings(&s, "text")?)
            {
                if let Some(d) = d {
                    units.push((d, k, t.unwrap_or_default()));
                }
            }
        }
        Unit::Document => {
            let texts = read_result_table(&c.results, "texts")?;
            let by_doc: HashMap<String, String> = match &texts {
                Some(t) => column_strings(t, "doc_id")?
                    .into_iter()
                    .zip(column_strings(t, "text")?)
                    .filter_map(|(d, x)| Some((d?, x.unwrap_or_default())))
                    .collect(),
                None => HashMap::new(),
            };
            for d in doc_ids.iter().flatten() {
                units.push((d.clone(), -1, by_doc.get(d).cloned().unwrap_or_default()));
            }
        }
    }
    if units.is_empty() {
        bail!("{} has no {:?} units to sample", c.results.display(), c.unit);
    }
    // Strata in sorted order, units in table order within each: the draw depends on the seed only.
    let mut by_stratum: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, u) in units.iter().enumerate() {
        let key = stratum
            .get(&u.0)
            .cloned()
            .unwrap_or_else(|| crate::compare::UNKNOWN.into());
        by_stratum.entry(key).or_default().push(i);
    }
    let keys: Vec<&String> = by_stratum.keys().collect();
    let sizes: Vec<usize> = by_stratum.values().map(Vec::len).collect();
    let take = allocate(&sizes, c.n);
    let mut chosen: Vec<(String, usize)> = Vec::new();
    for ((key, members), k) in keys.iter().zip(by_stratum.values()).zip(&take) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed_for(c.seed, &["sample", key]));
        let mut picked: Vec<usize> = members.choose_multiple(&mut rng, *k).copied().collect();
        picked.sort_unstable();
        chosen.extend(picked.into_iter().map(|i| ((*key).clone(), i)));
    }
    // rhetor's labels of each unit.
    let labels = Labels::read(&c.results, c.unit)?;
    let targets: Vec<String> = labels.targets.iter().cloned().collect();
    let n = chosen.len();
    let mut unit_id = Vec::with_capacity(n);
    let (mut stratum_col, mut doc_col, mut sent_col, mut author_col, mut date_col, mut title_col, mut text_col) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut key_rec, mut key_actor, mut key_instr) = (vec![], vec![], vec![]);
    let mut key_stance: Vec<Vec<String>> = vec![Vec::new(); targets.len()];
    let mut key_entities = vec![];
    for (s, i) in &chosen {
        let (d, k, t) = &units[*i];
        let row = doc_row.get(d).copied();
        let meta = |v: &Vec<Option<String>>| row.and_then(|r| v[r].clone()).unwrap_or_default();
        unit_id.push(if *k >= 0 { format!("{d}#{k}") } else { d.clone() });
        stratum_col.push(s.clone());
        doc_col.push(d.clone());
        sent_col.push(if *k >= 0 { Some(*k) } else { None });
        author_col.push(meta(&authors));
        date_col.push(meta(&dates));
        title_col.push(meta(&titles));
        text_col.push(t.clone());
        let recs = labels.recommendations.get(&(d.clone(), *k));
        key_rec.push(if recs.is_some() { "yes" } else { "no" }.to_string());
        key_actor.push(
            recs.map(|r| r.iter().map(|x| x.0.clone()).collect::<Vec<_>>().join("; "))
                .unwrap_or_default(),
        );
        key_instr.push(
            recs.map(|r| r.iter().map(|x| x.1.clone()).collect::<Vec<_>>().join("; "))
                .unwrap_or_default(),
        );
        for (j, target) in targets.iter().enumerate() {
            key_stance[j].push(
                labels
                    .stances
                    .get(&(d.clone(), target.clone()))
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        key_entities.push(labels.entities.get(&(d.clone(), *k)).cloned().unwrap_or_default());
    }
    let empty = || vec![String::new(); n];
    let coder_columns: Vec<String> = match c.unit {
        Unit::Sentence => {
            // Stance is the document's (rhetor reports no stance per sentence): coded on documents.
            vec![
                "code_recommendation".to_string(),
                "code_actor".into(),
                "code_instrument".into(),
                "code_entities".into(),
            ]
        }
        Unit::Document => targets.iter().map(|t| format!("code_stance_{t}")).collect(),
    };
    let key_columns: Vec<(String, Vec<String>)> = {
        let mut v = Vec::new();
        if c.unit == Unit::Sentence {
            v.push(("rhetor_recommendation".to_string(), key_rec));
            v.push(("rhetor_actor".into(), key_actor));
            v.push(("rhetor_instrument".into(), key_instr));
            v.push(("rhetor_entities".into(), key_entities));
        } else {
            for (t, s) in targets.iter().zip(key_stance) {
                v.push((format!("rhetor_stance_{t}"), s));
            }
        }
        v
    };
    let base = vec![
        Column::new("unit_id".into(), unit_id.clone()),
        Column::new("stratum".into(), stratum_col),
        Column::new("doc_id".into(), doc_col),
        Column::new("sent_id".into(), sent_col),
        Column::new("author".into(), author_col),
        Column::new("date".into(), date_col),
        Column::new("title".into(), title_col),
        Column::new("text".into(), text_col),
    ];
    let mut sheet_cols = base;
    if c.unit == Unit::Document {
        // A spreadsheet cell holds at most 32,767 characters: every document's full text is also a
        // file beside the sheet, and a longer one is only there (its cell names the file).
        let dir = texts_dir(&c.out);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let folder = dir.file_name().and_then(|f| f.to_str()).unwrap_or("texts").to_string();
        let mut files = Vec::with_capacity(n);
        let mut cells = Vec::with_capacity(n);
        for (_, i) in &chosen {
            let (d, _, t) = &units[*i];
            let name = format!("{}.txt", d.replace(['/', '\\'], "_"));
            std::fs::write(dir.join(&name), t)
                .with_context(|| format!("cannot write {}", dir.join(&name).display()))?;
            let file = format!("{folder}/{name}");
            cells.push(if t.chars().count() > MAX_CELL_CHARS {
                format!("(longer than a spreadsheet cell holds: see {file})")
            } else {
                t.clone()
            });
            files.push(file);
        }
        sheet_cols[7] = Column::new("text".into(), cells);
        sheet_cols.insert(8, Column::new("text_file".into(), files));
    }
    sheet_cols.push(Column::new("coder".into(), empty()));
    for name in &coder_columns {
        sheet_cols.push(Column::new(name.as_str().into(), empty()));
    }
    sheet_cols.push(Column::new("notes".into(), empty()));
    if c.show_labels {
        for (name, v) in &key_columns {
            sheet_cols.push(Column::new(name.as_str().into(), v.clone()));
        }
    }
    let mut sheet = DataFrame::new_infer_height(sheet_cols)?;
    let mut key_cols = vec![Column::new("unit_id".into(), unit_id)];
    for (name, v) in key_columns {
        key_cols.push(Column::new(name.as_str().into(), v));
    }
    let mut key = DataFrame::new_infer_height(key_cols)?;
    let key_path = key_path(&c.out);
    if let Some(dir) = c.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let provenance = vec![
        ("rhetor_version".to_string(), crate::VERSION.to_string()),
        (
            "rhetor_sample_configuration".to_string(),
            serde_json::json!({
                "results": c.results.display().to_string(), "unit": c.unit, "n": c.n,
                "stratify": c.stratify, "seed": c.seed,
            })
            .to_string(),
        ),
    ];
    crate::tables::write_frame(
        &mut sheet,
        &c.out,
        crate::tables::OutFormat::Csv,
        &provenance,
        c.csv_raw,
    )
    .with_context(|| format!("cannot write {}", c.out.display()))?;
    crate::tables::write_frame(
        &mut key,
        &key_path,
        crate::tables::OutFormat::Csv,
        &provenance,
        c.csv_raw,
    )
    .with_context(|| format!("cannot write {}", key_path.display()))?;
    Ok(SampleSummary {
        units: n,
        strata: take.iter().filter(|&&k| k > 0).count(),
        sheet: c.out.clone(),
        key: key_path,
    })
}

/// Characters a spreadsheet cell holds (Excel's and LibreOffice's limit is 32,767).
const MAX_CELL_CHARS: usize = 32_000;

/// `sample.csv` -> `sample.texts/`.
pub fn texts_dir(sheet: &Path) -> PathBuf {
    let stem = sheet.file_stem().and_then(|s| s.to_str()).unwrap_or("sample");
    sheet.with_file_name(format!("{stem}.texts"))
}

/// `sample.csv` -> `sample.key.csv`.
pub fn key_path(sheet: &Path) -> PathBuf {
    let stem = sheet.file_stem().and_then(|s| s.to_str()).unwrap_or("sample");
    sheet.with_file_name(format!("{stem}.key.csv"))
}

/// rhetor's labels, by unit.
struct Labels {
    /// (doc_id, sent_id) -> [(actor, instrument)].
    recommendations: HashMap<(String, i64), Vec<(String, String)>>,
    /// (doc_id, target) -> stance label.
    stances: HashMap<(String, String), String>,
    /// (doc_id, sent_id) -> "text|LABEL; ..." (for documents, sent_id -1: none).
    entities: HashMap<(String, i64), String>,
    /// The configured stance targets.
    targets: BTreeSet<String>,
}

impl Labels {
    fn read(results: &Path, unit: Unit) -> Result<Self> {
        let mut l = Labels {
            recommendations: HashMap::new(),
            stances: HashMap::new(),
            entities: HashMap::new(),
            targets: BTreeSet::new(),
        };
        if let Some(r) = read_result_table(results, "recommendations")? {
            for (((d, k), a), ins) in column_strings(&r, "doc_id")?
                .into_iter()
                .zip(column_ints(&r, "sent_id")?)
                .zip(column_strings(&r, "actor")?)
                .zip(column_strings(&r, "instrument")?)
            {
                if let Some(d) = d {
                    l.recommendations
                        .entry((d, k))
                        .or_default()
                        .push((a.unwrap_or_default(), ins.unwrap_or_default()));
                }
            }
        }
        if let Some(s) = read_result_table(results, "stances")? {
            for (((d, t), kind), st) in column_strings(&s, "doc_id")?
                .into_iter()
                .zip(column_strings(&s, "target")?)
                .zip(column_strings(&s, "kind")?)
                .zip(column_strings(&s, "stance")?)
            {
                if kind.as_deref() != Some("config") {
                    continue;
                }
                if let (Some(d), Some(t)) = (d, t) {
                    l.targets.insert(t.clone());
                    l.stances.insert((d, t), st.unwrap_or_default());
                }
            }
        }
        if unit == Unit::Sentence {
            if let Some(m) = read_result_table(results, "mentions")? {
                for (((d, k), t), lab) in column_strings(&m, "doc_id")?
                    .into_iter()
                    .zip(column_ints(&m, "sent_id")?)
                    .zip(column_strings(&m, "text")?)
                    .zip(column_strings(&m, "label")?)
                {
                    if let Some(d) = d {
                        let e = l.entities.entry((d, k)).or_default();
                        if !e.is_empty() {
                            e.push_str("; ");
                        }
                        e.push_str(&format!("{}|{}", t.unwrap_or_default(), lab.unwrap_or_default()));
                    }
                }
            }
        }
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_is_proportional_with_one_per_stratum() {
        assert_eq!(allocate(&[100, 50, 10, 1], 20), vec![11, 6, 2, 1]);
        assert_eq!(allocate(&[3, 3], 10), vec![3, 3]);
        assert_eq!(allocate(&[5, 5, 5], 2), vec![1, 1, 0]);
        assert_eq!(allocate(&[0, 4], 2), vec![0, 2]);
        for n in 0..40 {
            let a = allocate(&[17, 9, 4, 1, 0], n);
            assert_eq!(a.iter().sum::<usize>(), n.min(31));
            assert!(a.iter().zip([17, 9, 4, 1, 0]).all(|(k, s)| *k <= s));
        }
    }
}
