//! `rhetor compare`: the per-document tables of an `analyze` run turned into comparisons by group
//! (author, publication or any metadata column) and period. Reading and writing are at the edges;
//! everything between is polars frames.

pub mod uncertainty;

use crate::tables::{column_ints, column_strings, read_result_table, OutFormat, TableWriter};
use anyhow::{bail, Context, Result};
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
pub use uncertainty::Uncertainty;

/// The label of documents that lack the grouping field or a usable date.
pub const UNKNOWN: &str = "(unknown)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Year,
    Quarter,
    Month,
    None,
}

impl Period {
    /// The period of an ISO date (possibly partial); dates too coarse for the period are unknown.
    pub fn of(self, date: Option<&str>) -> String {
        let d = date.unwrap_or("").trim();
        let year = d.get(..4).filter(|y| y.chars().all(|c| c.is_ascii_digit()));
        let month: Option<u32> = d
            .get(5..7)
            .and_then(|m| m.parse().ok())
            .filter(|m| (1..=12).contains(m));
        match (self, year, month) {
            (Self::None, _, _) => "all".into(),
            (Self::Year, Some(y), _) => y.to_string(),
            (Self::Quarter, Some(y), Some(m)) => format!("{y}-Q{}", (m - 1) / 3 + 1),
            (Self::Month, Some(y), Some(m)) => format!("{y}-{m:02}"),
            _ => UNKNOWN.into(),
        }
    }
}

impl Period {
    /// The label `k` periods after `label` ("2012" + 1 = "2013", "2012-Q4" + 1 = "2013-Q1",
    /// "2012-12" + 1 = "2013-01"); `None` for the unknown period or `Period::None`.
    pub fn shift(self, label: &str, k: i64) -> Option<String> {
        let year: i64 = label.get(..4)?.parse().ok()?;
        match self {
            Self::Year if label.len() == 4 => Some(format!("{}", year + k)),
            Self::Quarter => {
                let q: i64 = label.strip_prefix(&format!("{year}-Q"))?.parse().ok()?;
                let n = year * 4 + (q - 1) + k;
                Some(format!("{}-Q{}", n.div_euclid(4), n.rem_euclid(4) + 1))
            }
            Self::Month => {
                let m: i64 = label.get(5..7)?.parse().ok()?;
                let n = year * 12 + (m - 1) + k;
                Some(format!("{}-{:02}", n.div_euclid(12), n.rem_euclid(12) + 1))
            }
            _ => None,
        }
    }
}

/// A metadata condition: `COLUMN OP VALUE` with OP one of `=`, `!=`, `>=`, `<=`, `>`, `<`, `~`
/// (contains, case-insensitive). Values compare as numbers when both sides are numbers, else as
/// text (ISO dates compare correctly as text).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Filter {
    pub column: String,
    pub op: String,
    pub value: String,
}

impl std::str::FromStr for Filter {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        for op in ["!=", ">=", "<=", "=", ">", "<", "~"] {
            if let Some(i) = s.find(op) {
                let column = s[..i].trim().to_string();
                let value = s[i + op.len()..].trim().to_string();
                if column.is_empty() {
                    break;
                }
                return Ok(Self {
                    column,
                    op: op.to_string(),
                    value,
                });
            }
        }
        Err(format!(
            "{s:?} is not COLUMN OP VALUE (OP one of = != >= <= > < ~), e.g. \"date>=2010\" or \"author=Barack Obama\""
        ))
    }
}

impl Filter {
    pub fn keeps(&self, cell: Option<&str>) -> bool {
        let Some(cell) = cell else {
            return self.op == "!=";
        };
        let ord = match (cell.trim().parse::<f64>(), self.value.parse::<f64>()) {
            (Ok(a), Ok(b)) => a.partial_cmp(&b),
            _ => Some(cell.cmp(self.value.as_str())),
        };
        use std::cmp::Ordering::*;
        match self.op.as_str() {
            "=" => cell == self.value,
            "!=" => cell != self.value,
            ">=" => matches!(ord, Some(Greater | Equal)),
            "<=" => matches!(ord, Some(Less | Equal)),
            ">" => ord == Some(Greater),
            "<" => ord == Some(Less),
            "~" => cell.to_lowercase().contains(&self.value.to_lowercase()),
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct CompareConfig {
    pub results: PathBuf,
    pub by: String,
    pub period: Period,
    pub out: PathBuf,
    pub top: usize,
    pub filters: Vec<Filter>,
    /// Keep only documents that mention one of these entity ids.
    pub entities: Vec<String>,
    pub min_count: usize,
    pub formats: Vec<OutFormat>,
    /// CSV cells as the text has them, not spreadsheet-safe.
    pub csv_raw: bool,
    /// Only documents dated on or after / on or before these (ISO, any precision).
    pub since: Option<String>,
    pub until: Option<String>,
    /// Rolling windows of this many periods (1: plain periods).
    pub rolling: usize,
    /// Two groups (or with `by = "period"`, two periods) to contrast.
    pub contrast: Option<(String, String)>,
    pub uncertainty: Uncertainty,
}

/// `--by period`: groups are not a metadata column; every document is in group "all", and
/// `--contrast` names periods.
pub const BY_PERIOD: &str = "period";

/// Whether an ISO date (any precision) is on or after `since` and on or before `until`, each
/// compared at the precision both have ("2012-05-14" is within `--until 2012`, and "2012" within
/// `--since 2012-06`). An undated document is outside any bound.
pub fn within(date: Option<&str>, since: Option<&str>, until: Option<&str>) -> bool {
    if since.is_none() && until.is_none() {
        return true;
    }
    let Some(d) = date.map(str::trim).filter(|d| d.len() >= 4 && d.is_ascii()) else {
        return false;
    };
    // Bounds are ASCII ISO dates (checked when parsed); compare at the shorter precision.
    fn common<'a>(d: &'a str, bound: &'a str) -> (&'a str, &'a str) {
        let n = d.len().min(bound.len());
        (&d[..n], bound.get(..n).unwrap_or(bound))
    }
    since.is_none_or(|s| {
        let (d, s) = common(d, s);
        d >= s
    }) && until.is_none_or(|u| {
        let (d, u) = common(d, u);
        d <= u
    })
}

/// What `compare` wrote.
pub struct CompareSummary {
    pub documents: usize,
    pub groups: usize,
    pub outputs: Vec<PathBuf>,
}

/// doc_id, group, period, words, sentences for the documents that pass the filters.
pub fn document_groups(docs: &DataFrame, mentions: Option<&DataFrame>, c: &CompareConfig) -> Result<DataFrame> {
    let names: Vec<String> = docs.get_column_names().iter().map(|s| s.to_string()).collect();
    let by_period = c.by == BY_PERIOD && !names.iter().any(|n| n == BY_PERIOD);
    let by = if by_period { None } else { Some(&c.by) };
    for col in by.into_iter().chain(c.filters.iter().map(|f| &f.column)) {
        if !names.contains(col) {
            bail!(
                "the documents table has no column {col:?}; its columns are: {}",
                names.join(", ")
            );
        }
    }
    let ids = column_strings(docs, "doc_id")?;
    let group = match by {
        Some(by) => column_strings(docs, by)?,
        None => vec![Some("all".to_string()); docs.height()],
    };
    let dates = column_strings(docs, "date")?;
    let words = column_ints(docs, "n_words")?;
    let sentences = column_ints(docs, "n_sentences")?;
    let filter_cols: Vec<Vec<Option<String>>> = c
        .filters
        .iter()
        .map(|f| column_strings(docs, &f.column))
        .collect::<Result<_>>()?;
    let with_entity: Option<BTreeSet<String>> = match (c.entities.is_empty(), mentions) {
        (true, _) => None,
        (false, None) => bail!("--entity needs the mentions table (run analyze without --no-entities)"),
        (false, Some(m)) => {
            let ids = column_strings(m, "doc_id")?;
            let ents = column_strings(m, "entity_id")?;
            Some(
                ids.into_iter()
                    .zip(ents)
                    .filter(|(_, e)| e.as_ref().is_some_and(|e| c.entities.contains(e)))
                    .filter_map(|(d, _)| d)
                    .collect(),
            )
        }
    };
    let (mut o_id, mut o_group, mut o_period, mut o_words, mut o_sents) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let kept: Vec<usize> = (0..ids.len())
        .filter(|&i| {
            c.filters
                .iter()
                .zip(&filter_cols)
                .all(|(f, col)| f.keeps(col[i].as_deref()))
                && with_entity
                    .as_ref()
                    .is_none_or(|s| ids[i].as_ref().is_some_and(|id| s.contains(id)))
                && within(dates[i].as_deref(), c.since.as_deref(), c.until.as_deref())
        })
        .collect();
    // Windows end at the latest period of the kept documents, no later.
    let last_period = kept
        .iter()
        .map(|&i| c.period.of(dates[i].as_deref()))
        .filter(|p| p != UNKNOWN)
        .max();
    for i in kept {
        let id = ids[i].clone().unwrap_or_default();
        let g = group[i]
            .clone()
            .filter(|g| !g.trim().is_empty())
            .unwrap_or_else(|| UNKNOWN.into());
        let period = c.period.of(dates[i].as_deref());
        // A rolling window is labelled by its last period: a document of 2012 is in the windows
        // ending 2012, 2013, ... (as many as the window is long).
        let windows: Vec<String> = if c.rolling > 1 && period != UNKNOWN {
            (0..c.rolling as i64)
                .filter_map(|k| c.period.shift(&period, k))
                .filter(|w| last_period.as_ref().is_some_and(|l| w <= l))
                .collect()
        } else {
            vec![period]
        };
        for w in windows {
            o_id.push(id.clone());
            o_group.push(g.clone());
            o_period.push(w);
            o_words.push(words[i]);
            o_sents.push(sentences[i]);
        }
    }
    Ok(DataFrame::new_infer_height(vec![
        Column::new("doc_id".into(), o_id),
        Column::new("group".into(), o_group),
        Column::new("period".into(), o_period),
        Column::new("words".into(), o_words),
        Column::new("sentences".into(), o_sents),
    ])?)
}

/// A long frame as a spreadsheet: one row per `index` value, one column per `group | period`
/// (sorted), cells from `value` (empty where there is none).
pub fn wide(long: &DataFrame, index: &str, value: &str) -> Result<DataFrame> {
    let idx = column_strings(long, index)?;
    let groups = column_strings(long, "group")?;
    let periods = column_strings(long, "period")?;
    let values = long.column(value)?.cast(&DataType::Float64)?;
    let values: Vec<Option<f64>> = values.f64()?.iter().collect();
    let mut cols: BTreeSet<String> = BTreeSet::new();
    let mut rows: Vec<String> = Vec::new();
    let mut cells: HashMap<(String, String), f64> = HashMap::new();
    for i in 0..idx.len() {
        let key = idx[i].clone().unwrap_or_default();
        let col = format!(
            "{} | {}",
            groups[i].as_deref().unwrap_or(UNKNOWN),
            periods[i].as_deref().unwrap_or(UNKNOWN)
        );
        if !rows.contains(&key) {
            rows.push(key.clone());
        }
        cols.insert(col.clone());
        if let Some(v) = values[i] {
            cells.insert((key, col), v);
        }
    }
    let mut columns = vec![Column::new(index.into(), rows.clone())];
    for col in &cols {
        let v: Vec<Option<f64>> = rows
            .iter()
            .map(|r| cells.get(&(r.clone(), col.clone())).copied())
            .collect();
        columns.push(Column::new(col.as_str().into(), v));
    }
    Ok(DataFrame::new_infer_height(columns)?)
}

/// `COUNT_per_1000_words`: the count per 1,000 words of the cell.
fn per_1000_words(count: &str, words: &str) -> Expr {
    (lit(1000.0) * col(count).cast(DataType::Float64) / col(words).cast(DataType::Float64))
        .alias(format!("{count}_per_1000_words"))
}

fn round_col(name: &str) -> Expr {
    col(name).round(4, RoundMode::HalfToEven).alias(name)
}

/// Gives a per-document table its documents' group and period (documents filtered out by
/// `--filter` or `--entity` drop out here).
trait JoinGroups {
    fn join_groups(self, groups: &DataFrame) -> LazyFrame;
}

impl JoinGroups for LazyFrame {
    fn join_groups(self, groups: &DataFrame) -> LazyFrame {
        self.join(
            groups
                .clone()
                .lazy()
                .select([col("doc_id"), col("group"), col("period")]),
            [col("doc_id")],
            [col("doc_id")],
            JoinArgs::new(JoinType::Inner),
        )
    }
}

/// Documents, words and sentences per group and period.
pub fn corpus_counts(groups: &DataFrame) -> Result<DataFrame> {
    Ok(groups
        .clone()
        .lazy()
        .group_by([col("group"), col("period")])
        .agg([
            len().cast(DataType::Int64).alias("documents"),
            col("words").sum().alias("words"),
            col("sentences").sum().alias("sentences"),
        ])
        .sort(["group", "period"], Default::default())
        .collect()?)
}

/// Each entity's share of the mentions in its group and period; the top `top` per group and period.
pub fn salience(groups: &DataFrame, mentions: &DataFrame, top: usize) -> Result<DataFrame> {
    let m = mentions
        .clone()
        .lazy()
        .select([col("doc_id"), col("entity_id"), col("entity_name")])
        .join_groups(groups);
    let counted = m
        .group_by([col("group"), col("period"), col("entity_id")])
        .agg([
            len().cast(DataType::Int64).alias("mentions"),
            col("entity_name").first().alias("entity_name"),
        ])
        .with_column(
            (col("mentions").cast(DataType::Float64)
                / col("mentions")
                    .sum()
                    .over([col("group"), col("period")])?
                    .cast(DataType::Float64))
            .alias("share"),
        )
        .sort_by_exprs(
            [col("group"), col("period"), col("mentions"), col("entity_id")],
            SortMultipleOptions::default().with_order_descending_multi([false, false, true, false]),
        )
        .select([
            col("group"),
            col("period"),
            col("entity_id"),
            col("entity_name"),
            col("mentions"),
            round_col("share"),
        ]);
    ranked(counted.collect()?, top)
}

/// Per target: documents, mean score and stance counts per group and period.
pub fn stance(groups: &DataFrame, stances: &DataFrame) -> Result<DataFrame> {
    Ok(stances
        .clone()
        .lazy()
        .join_groups(groups)
        .group_by([col("group"), col("period"), col("target")])
        .agg([
            col("target_name").first().alias("target_name"),
            len().cast(DataType::Int64).alias("documents"),
            col("score").mean().alias("mean_score"),
            col("stance")
                .eq(lit("favor"))
                .sum()
                .cast(DataType::Int64)
                .alias("favor"),
            col("stance")
                .eq(lit("against"))
                .sum()
                .cast(DataType::Int64)
                .alias("against"),
            col("stance")
                .eq(lit("neutral"))
                .sum()
                .cast(DataType::Int64)
                .alias("neutral"),
        ])
        .with_columns([
            (col("favor").cast(DataType::Float64) / col("documents").cast(DataType::Float64)).alias("favor_share"),
            (col("against").cast(DataType::Float64) / col("documents").cast(DataType::Float64)).alias("against_share"),
            (col("neutral").cast(DataType::Float64) / col("documents").cast(DataType::Float64)).alias("neutral_share"),
        ])
        .with_columns([
            round_col("mean_score"),
            round_col("favor_share"),
            round_col("against_share"),
            round_col("neutral_share"),
        ])
        .sort(["target", "group", "period"], Default::default())
        .collect()?)
}

/// Recommendations per value of `column` (instrument or strength) with shares, and per 1,000
/// words of the cell's documents, per group and period.
pub fn recommendation_mix(groups: &DataFrame, recs: &DataFrame, column: &str) -> Result<DataFrame> {
    let words = corpus_counts(groups)?
        .lazy()
        .select([col("group"), col("period"), col("words").alias("cell_words")]);
    Ok(recs
        .clone()
        .lazy()
        .join_groups(groups)
        .group_by([col("group"), col("period"), col(column)])
        .agg([len().cast(DataType::Int64).alias("recommendations")])
        .with_column(
            (col("recommendations").cast(DataType::Float64)
                / col("recommendations")
                    .sum()
                    .over([col("group"), col("period")])?
                    .cast(DataType::Float64))
            .alias("share"),
        )
        .join(
            words,
            [col("group"), col("period")],
            [col("group"), col("period")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(per_1000_words("recommendations", "cell_words"))
        .select([
            col("group"),
            col("period"),
            col(column),
            col("recommendations"),
            round_col("recommendations_per_1000_words"),
            round_col("share"),
        ])
        .sort(["group", "period", column], Default::default())
        .collect()?)
}

/// Corpus counts with the cell's recommendations, raw and per 1,000 words.
pub fn corpus_with_recommendations(corpus: DataFrame, groups: &DataFrame, recs: &DataFrame) -> Result<DataFrame> {
    let per_cell = recs
        .clone()
        .lazy()
        .join_groups(groups)
        .group_by([col("group"), col("period")])
        .agg([len().cast(DataType::Int64).alias("recommendations")]);
    Ok(corpus
        .lazy()
        .join(
            per_cell,
            [col("group"), col("period")],
            [col("group"), col("period")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(col("recommendations").fill_null(lit(0i64)))
        .with_column(per_1000_words("recommendations", "words"))
        .with_column(round_col("recommendations_per_1000_words"))
        .sort(["group", "period"], Default::default())
        .collect()?)
}

/// The actors most often addressed by recommendations (top `top` per group and period).
pub fn top_actors(groups: &DataFrame, recs: &DataFrame, top: usize) -> Result<DataFrame> {
    let df = recs
        .clone()
        .lazy()
        .filter(col("actor").neq(lit("")))
        .join_groups(groups)
        .with_column(col("actor").str().to_lowercase().alias("actor_key"))
        .group_by([col("group"), col("period"), col("actor_key")])
        .agg([
            col("actor").first().alias("actor"),
            len().cast(DataType::Int64).alias("recommendations"),
        ])
        .sort_by_exprs(
            [col("group"), col("period"), col("recommendations"), col("actor_key")],
            SortMultipleOptions::default().with_order_descending_multi([false, false, true, false]),
        )
        .select([col("group"), col("period"), col("actor"), col("recommendations")])
        .collect()?;
    ranked(df, top)
}

/// Adds `rank` (1 for the first row of each group and period, in the frame's order) after
/// `period`, and keeps the first `top` of each.
fn ranked(df: DataFrame, top: usize) -> Result<DataFrame> {
    let g = column_strings(&df, "group")?;
    let p = column_strings(&df, "period")?;
    let mut rank = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let r = if i > 0 && g[i] == g[i - 1] && p[i] == p[i - 1] {
            rank[i - 1] + 1
        } else {
            1i64
        };
        rank.push(r);
    }
    let keep = BooleanChunked::from_iter_values("keep".into(), rank.iter().map(|&r| r <= top as i64));
    let mut df = df;
    df.insert_column(2, Column::new("rank".into(), rank))?;
    Ok(df.filter(&keep)?)
}

/// Log-likelihood G2 of a 2x2 table (a: the term in the target, b: in the reference; n_t and n_r
/// the sizes of both), signed positive when the target uses the term more, and the log ratio
/// (log2 of the ratio of relative frequencies, with 0.5 for a zero count) as effect size. No
/// continuity correction.
pub fn g2(a: f64, b: f64, n_t: f64, n_r: f64) -> (f64, f64) {
    let n = n_t + n_r;
    let (c, d) = (n_t - a, n_r - b);
    let cell = |o: f64, e: f64| if o > 0.0 && e > 0.0 { o * (o / e).ln() } else { 0.0 };
    let e_a = n_t * (a + b) / n;
    let e_b = n_r * (a + b) / n;
    let e_c = n_t * (c + d) / n;
    let e_d = n_r * (c + d) / n;
    let g = 2.0 * (cell(a, e_a) + cell(b, e_b) + cell(c, e_c) + cell(d, e_d));
    let (fa, fb) = ((a.max(0.5)) / n_t, (b.max(0.5)) / n_r);
    let sign = if a / n_t >= b / n_r { 1.0 } else { -1.0 };
    (sign * g, (fa / fb).log2())
}

/// Terms (lower-case words) and entities over-used by each group against all other groups, with
/// at least `min_count` uses in the group; sorted by G2.
pub fn keyness(
    groups: &DataFrame,
    sentences: &DataFrame,
    mentions: Option<&DataFrame>,
    min_count: usize,
) -> Result<DataFrame> {
    let doc_group: HashMap<String, String> = column_strings(groups, "doc_id")?
        .into_iter()
        .zip(column_strings(groups, "group")?)
        .filter_map(|(d, g)| Some((d?, g?)))
        .collect();
    // counts[group][(kind, key)] and the size of each group (words; mentions for entities).
    let mut counts: BTreeMap<String, HashMap<(&'static str, String), f64>> = BTreeMap::new();
    let mut sizes: BTreeMap<(&'static str, String), f64> = BTreeMap::new();
    let mut names: HashMap<String, String> = HashMap::new();
    let ids = column_strings(sentences, "doc_id")?;
    let texts = column_strings(sentences, "text")?;
    for (d, t) in ids.iter().zip(&texts) {
        let (Some(d), Some(t)) = (d, t) else { continue };
        let Some(g) = doc_group.get(d) else { continue };
        let span = crate::document::Span::new(0, t.chars().count());
        let index = crate::text::CharIndex::new(t);
        for tok in crate::text::tokenize_words(t, &[span]) {
            if !tok.is_word {
                continue;
            }
            let w = t[index.byte(tok.span.start)..index.byte(tok.span.end)].to_lowercase();
            *counts.entry(g.clone()).or_default().entry(("term", w)).or_default() += 1.0;
            *sizes.entry(("term", g.clone())).or_default() += 1.0;
        }
    }
    if let Some(m) = mentions {
        for ((d, e), n) in column_strings(m, "doc_id")?
            .into_iter()
            .zip(column_strings(m, "entity_id")?)
            .zip(column_strings(m, "entity_name")?)
        {
            let (Some(d), Some(e)) = (d, e) else { continue };
            let Some(g) = doc_group.get(&d) else { continue };
            names.entry(e.clone()).or_insert_with(|| n.unwrap_or_default());
            *counts.entry(g.clone()).or_default().entry(("entity", e)).or_default() += 1.0;
            *sizes.entry(("entity", g.clone())).or_default() += 1.0;
        }
    }
    let mut totals: HashMap<(&'static str, String), f64> = HashMap::new();
    for c in counts.values() {
        for (k, v) in c {
            *totals.entry(k.clone()).or_default() += v;
        }
    }
    let kind_total = |kind: &str| -> f64 { sizes.iter().filter(|((k, _), _)| *k == kind).map(|(_, v)| v).sum() };
    let (term_total, entity_total) = (kind_total("term"), kind_total("entity"));
    let (mut o_group, mut o_kind, mut o_key, mut o_name, mut o_a, mut o_b, mut o_g2, mut o_lr) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for (g, c) in &counts {
        for ((kind, key), &a) in c {
            if (a as usize) < min_count {
                continue;
            }
            let n_t = sizes.get(&(*kind, g.clone())).copied().unwrap_or(0.0);
            let n_all = if *kind == "term" { term_total } else { entity_total };
            let n_r = n_all - n_t;
            if n_r <= 0.0 {
                continue; // one group: nothing to compare against
            }
            let b = totals[&(*kind, key.clone())] - a;
            let (g2v, lr) = g2(a, b, n_t, n_r);
            o_group.push(g.clone());
            o_kind.push(*kind);
            o_key.push(key.clone());
            o_name.push(if *kind == "entity" {
                names.get(key).cloned().unwrap_or_default()
            } else {
                key.clone()
            });
            o_a.push(a as i64);
            o_b.push(b as i64);
            o_g2.push(g2v);
            o_lr.push(lr);
        }
    }
    let df = DataFrame::new_infer_height(vec![
        Column::new("group".into(), o_group),
        Column::new("kind".into(), o_kind),
        Column::new("key".into(), o_key),
        Column::new("name".into(), o_name),
        Column::new("count_group".into(), o_a),
        Column::new("count_rest".into(), o_b),
        Column::new("g2".into(), o_g2),
        Column::new("log_ratio".into(), o_lr),
    ])?;
    Ok(df
        .lazy()
        .with_columns([round_col("g2"), round_col("log_ratio")])
        .sort_by_exprs(
            [col("group"), col("kind"), col("g2"), col("key")],
            SortMultipleOptions::default().with_order_descending_multi([false, false, true, false]),
        )
        .collect()?)
}

/// The contrasts table of `--contrast A B`: groups A and B over all periods, or with `--by
/// period` periods A and B over all groups; each document counted once.
pub fn contrast_table(
    groups: &DataFrame,
    c: &CompareConfig,
    (a, b): (&String, &String),
    measures: &uncertainty::Measures,
    mentions: Option<&DataFrame>,
    stances: Option<&DataFrame>,
) -> Result<DataFrame> {
    let side = if c.by == BY_PERIOD { "period" } else { "group" };
    let ids = column_strings(groups, "doc_id")?;
    let labels = column_strings(groups, side)?;
    let docs_of = |want: &str| -> Vec<String> {
        let set: BTreeSet<String> = ids
            .iter()
            .zip(&labels)
            .filter(|(_, l)| l.as_deref() == Some(want))
            .filter_map(|(d, _)| d.clone())
            .collect();
        set.into_iter().collect()
    };
    let (da, db) = (docs_of(a), docs_of(b));
    for (label, docs) in [(a, &da), (b, &db)] {
        if docs.is_empty() {
            let known: BTreeSet<String> = labels.iter().flatten().cloned().collect();
            bail!(
                "--contrast: no documents have {side} {label:?}; the {side}s are: {}",
                known.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
    }
    let mut names: HashMap<(String, String), String> = HashMap::new();
    if let Some(m) = mentions {
        for (e, n) in column_strings(m, "entity_id")?
            .into_iter()
            .zip(column_strings(m, "entity_name")?)
        {
            if let (Some(e), Some(n)) = (e, n) {
                names.entry(("salience".into(), e)).or_insert(n);
            }
        }
    }
    if let Some(s) = stances {
        for (t, n) in column_strings(s, "target")?
            .into_iter()
            .zip(column_strings(s, "target_name")?)
        {
            if let (Some(t), Some(n)) = (t, n) {
                names.entry(("stance".into(), t)).or_insert(n);
            }
        }
    }
    uncertainty::contrasts(measures, (a, b), (&da, &db), &names, &c.uncertainty)
}

/// Runs `compare` and writes its tables into `c.out`.
pub fn run(c: &CompareConfig) -> Result<CompareSummary> {
    let manifest = crate::manifest::read_completed(&c.results)?;
    let docs = read_result_table(&c.results, "documents")?.with_context(|| {
        format!(
            "{} holds no documents.parquet; point compare at the output folder of `rhetor analyze` (with Parquet output)",
            c.results.display()
        )
    })?;
    let mentions = read_result_table(&c.results, "mentions")?;
    let groups = document_groups(&docs, mentions.as_ref(), c)?;
    std::fs::create_dir_all(&c.out).with_context(|| format!("cannot create {}", c.out.display()))?;
    let configuration = serde_json::json!({
        "results": c.results.display().to_string(), "by": c.by, "period": c.period, "top": c.top,
        "filters": c.filters, "entities": c.entities, "min_count": c.min_count,
        "since": c.since, "until": c.until, "rolling": c.rolling, "contrast": c.contrast,
        "bootstrap": c.uncertainty.bootstrap, "permutations": c.uncertainty.permutations,
        "ci": c.uncertainty.level, "seed": c.uncertainty.seed,
    });
    let writer = TableWriter {
        dir: c.out.clone(),
        formats: c.formats.clone(),
        provenance: vec![
            ("rhetor_version".into(), crate::VERSION.into()),
            ("rhetor_compare_configuration".into(), configuration.to_string()),
            (
                "rhetor_source_models".into(),
                manifest.get("models").map(|m| m.to_string()).unwrap_or_default(),
            ),
            (
                "rhetor_source_inputs".into(),
                manifest.get("inputs").map(|m| m.to_string()).unwrap_or_default(),
            ),
        ],
        csv_raw: c.csv_raw,
    };
    let mut outputs = Vec::new();
    let mut write = |name: &str, df: &mut DataFrame| -> Result<()> {
        outputs.extend(writer.write(name, df, true)?);
        Ok(())
    };
    let stances = read_result_table(&c.results, "stances")?;
    let recs = read_result_table(&c.results, "recommendations")?;
    let measures = uncertainty::Measures::read(&groups, mentions.as_ref(), stances.as_ref(), recs.as_ref())?;
    let cells = uncertainty::cells(&groups)?;
    let u = &c.uncertainty;
    let with_ci = |df: DataFrame, key: Option<&str>, ms: &[(&str, &str)]| {
        uncertainty::add_intervals(df, key, ms, &measures, &cells, u)
    };
    let mut corpus = corpus_counts(&groups)?;
    if let Some(r) = &recs {
        corpus = with_ci(
            corpus_with_recommendations(corpus, &groups, r)?,
            None,
            &[uncertainty::CORPUS_RATE],
        )?;
    }
    write("corpus_long", &mut corpus)?;
    write(
        "corpus_wide",
        &mut wide(
            &corpus
                .clone()
                .lazy()
                .with_column(lit("documents").alias("metric"))
                .collect()?,
            "metric",
            "documents",
        )?,
    )?;
    if let Some(m) = &mentions {
        let s = salience(&groups, m, c.top)?;
        write("salience_wide", &mut wide(&s, "entity_name", "share")?)?;
        let mut s = with_ci(s, Some("entity_id"), &[uncertainty::SALIENCE_SHARE])?;
        write("salience_long", &mut s)?;
    }
    if let Some(st) = &stances {
        let s = stance(&groups, st)?;
        write("stance_wide", &mut wide(&s, "target_name", "mean_score")?)?;
        let mut s = with_ci(
            s,
            Some("target"),
            &[
                uncertainty::STANCE_MEAN,
                uncertainty::FAVOR_SHARE,
                uncertainty::AGAINST_SHARE,
            ],
        )?;
        write("stance_long", &mut s)?;
    }
    if let Some(r) = &recs {
        let ins = recommendation_mix(&groups, r, "instrument")?;
        write("instruments_wide", &mut wide(&ins, "instrument", "share")?)?;
        let mut ins = with_ci(
            ins,
            Some("instrument"),
            &[uncertainty::INSTRUMENT_SHARE, uncertainty::INSTRUMENT_RATE],
        )?;
        write("instruments_long", &mut ins)?;
        let st = recommendation_mix(&groups, r, "strength")?;
        write("strength_wide", &mut wide(&st, "strength", "share")?)?;
        let mut st = with_ci(
            st,
            Some("strength"),
            &[uncertainty::STRENGTH_SHARE, uncertainty::STRENGTH_RATE],
        )?;
        write("strength_long", &mut st)?;
        write("actors_long", &mut top_actors(&groups, r, c.top)?)?;
    }
    if let Some((a, b)) = &c.contrast {
        let mut df = contrast_table(&groups, c, (a, b), &measures, mentions.as_ref(), stances.as_ref())?;
        write("contrasts", &mut df)?;
    }
    if let Some(s) = read_result_table(&c.results, "sentences")? {
        write("keyness", &mut keyness(&groups, &s, mentions.as_ref(), c.min_count)?)?;
    }
    // Rolling windows repeat a document in each of its windows: count each once.
    let n_documents = column_strings(&groups, "doc_id")?
        .into_iter()
        .collect::<BTreeSet<_>>()
        .len();
    let n_groups = column_strings(&groups, "group")?
        .into_iter()
        .collect::<BTreeSet<_>>()
        .len();
    let manifest_out = serde_json::json!({
        "rhetor_version": crate::VERSION,
        "configuration": configuration,
        "source_manifest": manifest,
        "documents": n_documents,
        "outputs": outputs.iter().map(|p| p.file_name().unwrap_or_default().to_string_lossy().to_string()).collect::<Vec<_>>(),
    });
    let mp = c.out.join("compare_manifest.json");
    crate::tables::write_whole(&mp, (serde_json::to_string_pretty(&manifest_out)? + "\n").as_bytes())
        .with_context(|| format!("cannot write {}", mp.display()))?;
    outputs.push(mp);
    Ok(CompareSummary {
        documents: n_documents,
        groups: n_groups,
        outputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_from_partial_dates() {
        assert_eq!(Period::Year.of(Some("2012-05-14")), "2012");
        assert_eq!(Period::Quarter.of(Some("2012-05-14")), "2012-Q2");
        assert_eq!(Period::Month.of(Some("2012-05")), "2012-05");
        assert_eq!(Period::Quarter.of(Some("2012")), UNKNOWN);
        assert_eq!(Period::Year.of(None), UNKNOWN);
        assert_eq!(Period::None.of(None), "all");
    }

    #[test]
    fn g2_matches_a_hand_computation() {
        // a=10 of 100 words in the target, b=5 of 200 in the reference.
        // E: a 5, b 10, c 95, d 195. G2 = 2(10 ln2 + 5 ln .5 + 90 ln(90/95) + 195 ln(195/190)).
        let expected = 2.0
            * (10.0 * 2f64.ln() + 5.0 * 0.5f64.ln() + 90.0 * (90.0f64 / 95.0).ln() + 195.0 * (195.0f64 / 190.0).ln());
        let (g, lr) = g2(10.0, 5.0, 100.0, 200.0);
        assert!((g - expected).abs() < 1e-9, "{g} vs {expected}");
        assert!((lr - 2.0).abs() < 1e-9); // 0.1 / 0.025 = 4
        let (g, _) = g2(5.0, 10.0, 200.0, 100.0);
        assert!(g < 0.0);
    }

    #[test]
    fn filters_parse_and_compare() {
        let f: Filter = "date>=2010".parse().unwrap();
        assert!(f.keeps(Some("2012-01-24")) && !f.keeps(Some("2009-02-24")) && !f.keeps(None));
        let f: Filter = "author=Barack Obama".parse().unwrap();
        assert!(f.keeps(Some("Barack Obama")) && !f.keeps(Some("George W. Bush")));
        let f: Filter = "n_words>5000".parse().unwrap();
        assert!(f.keeps(Some("7021")) && !f.keeps(Some("900")));
        assert!("nonsense".parse::<Filter>().is_err());
    }
}
