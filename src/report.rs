//! `rhetor report`: one self-contained HTML file from an `analyze` run — corpus overview, entity
//! salience and stance over time by group, recommendation instruments by group, the
//! recommendations themselves, and provenance. Charts are inline SVG; nothing is fetched.

use crate::compare::{self, CompareConfig, Period};
use crate::tables::{column_floats, column_texts, read_result_table};
use anyhow::{Context, Result};
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Okabe-Ito: distinguishable with the common colour-vision deficiencies.
const PALETTE: &[&str] = &[
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

pub struct ReportConfig {
    pub results: PathBuf,
    pub out: PathBuf,
    pub by: String,
    pub period: Period,
    /// Entities charted (the most mentioned in the corpus).
    pub top_entities: usize,
    /// Points from fewer documents than this are drawn hollow and flagged.
    pub min_docs: usize,
    /// Two groups (or periods with `by = "period"`) to contrast in a section of their own.
    pub contrast: Option<(String, String)>,
    pub uncertainty: compare::Uncertainty,
}

/// One line of a chart: a value per period, its interval, and the documents behind it.
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
    pub intervals: Vec<Option<(f64, f64)>>,
    pub documents: Vec<Option<usize>>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A line chart: one line (with points) per series over the x categories; gaps where a series
/// has no value; each point's interval as a whisker; points from fewer than `min_docs` documents
/// hollow.
pub fn line_chart(
    title: &str,
    x: &[String],
    series: &[Series],
    y_label: &str,
    y_range: (f64, f64),
    min_docs: usize,
) -> String {
    let (w, h, left, right, top, bottom) = (720.0, 300.0, 60.0, 180.0, 36.0, 56.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let (y0, y1) = y_range;
    let xs = |i: usize| {
        left + if x.len() > 1 {
            pw * i as f64 / (x.len() - 1) as f64
        } else {
            pw / 2.0
        }
    };
    let ys = |v: f64| top + ph * (1.0 - (v - y0) / (y1 - y0));
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="{t}" class="chart"><title>{t}</title>"#,
        t = esc(title)
    );
    let _ = write!(s, r#"<text x="{}" y="20" class="ctitle">{}</text>"#, left, esc(title));
    for k in 0..=4 {
        let v = y0 + (y1 - y0) * k as f64 / 4.0;
        let y = ys(v);
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" class="tick" text-anchor="end">{}</text>"##,
            left + pw,
            left - 6.0,
            y + 4.0,
            if (y1 - y0) <= 2.0 {
                format!("{v:.2}")
            } else {
                format!("{v:.0}")
            }
        );
    }
    // Every label that fits (about 7 px per character).
    let widest = x.iter().map(|l| l.chars().count()).max().unwrap_or(4) as f64 * 7.0 + 8.0;
    let per_label = if x.len() > 1 { pw / (x.len() - 1) as f64 } else { pw };
    let step = (widest / per_label).ceil().max(1.0) as usize;
    for (i, label) in x.iter().enumerate() {
        if i % step == 0 || i == x.len() - 1 {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" class="tick" text-anchor="middle">{}</text>"#,
                xs(i),
                top + ph + 16.0,
                esc(label)
            );
        }
    }
    let _ = write!(
        s,
        r##"<line x1="{left}" x2="{left}" y1="{top}" y2="{}" stroke="#333"/><line x1="{left}" x2="{}" y1="{}" y2="{}" stroke="#333"/>"##,
        top + ph,
        left + pw,
        top + ph,
        top + ph
    );
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" class="axis" text-anchor="middle">period</text>"#,
        left + pw / 2.0,
        h - 12.0
    );
    let _ = write!(
        s,
        r#"<text transform="translate(14 {:.1}) rotate(-90)" class="axis" text-anchor="middle">{}</text>"#,
        top + ph / 2.0,
        esc(y_label)
    );
    for (k, line) in series.iter().enumerate() {
        let (name, values) = (&line.name, &line.values);
        let color = PALETTE[k % PALETTE.len()];
        let mut path = String::new();
        let mut pen_down = false;
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(path, "{}{:.1},{:.1} ", if pen_down { "L" } else { "M" }, xs(i), ys(*v));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = write!(s, r#"<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>"#);
        // Whiskers, nudged sideways per series so that overlapping ones stay apart.
        let nudge = (k as f64 - (series.len() as f64 - 1.0) / 2.0) * 3.0;
        for (i, ci) in line.intervals.iter().enumerate() {
            if let (Some((lo, hi)), Some(_)) = (ci, values[i]) {
                let (cx, y_lo, y_hi) = (xs(i) + nudge, ys(lo.max(y0)), ys(hi.min(y1)));
                let _ = write!(
                    s,
                    r#"<path class="ci" d="M{cx:.1},{y_lo:.1}V{y_hi:.1}M{:.1},{y_lo:.1}h6M{:.1},{y_hi:.1}h6" stroke="{color}" stroke-width="1" fill="none"/>"#,
                    cx - 3.0,
                    cx - 3.0
                );
            }
        }
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                let docs = line.documents.get(i).copied().flatten();
                let few = docs.is_some_and(|d| d < min_docs);
                let ci = line.intervals.get(i).copied().flatten();
                let _ = write!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}" stroke="{color}" stroke-width="1.5"{}><title>{}, {}: {:.3}{}{}</title></circle>"#,
                    xs(i),
                    ys(*v),
                    if few { "#fff" } else { color },
                    if few { r#" class="few""# } else { "" },
                    esc(name),
                    esc(&x[i]),
                    v,
                    ci.map(|(lo, hi)| format!(" ({lo:.3} to {hi:.3})")).unwrap_or_default(),
                    docs.map(|d| format!(", {d} documents{}", if few { " (few)" } else { "" }))
                        .unwrap_or_default()
                );
            }
        }
        let ly = top + 14.0 * k as f64 + 6.0;
        let _ = write!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="12" height="4" fill="{color}"/><text x="{:.1}" y="{:.1}" class="legend">{}</text>"#,
            left + pw + 16.0,
            ly - 4.0,
            left + pw + 32.0,
            ly + 2.0,
            esc(&name.chars().take(26).collect::<String>())
        );
    }
    s.push_str("</svg>");
    s
}

/// Horizontal stacked bars: one bar per category, segments are shares that sum to 1.
pub fn stacked_bars(title: &str, categories: &[String], segments: &[String], shares: &[Vec<f64>]) -> String {
    let bar_h = 22.0;
    let (w, left, right, top) = (720.0, 170.0, 190.0, 40.0);
    let h = top + bar_h * 1.5 * categories.len() as f64 + 40.0;
    let pw = w - left - right;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h:.0}" role="img" aria-label="{t}" class="chart"><title>{t}</title><text x="{left}" y="20" class="ctitle">{t}</text>"#,
        t = esc(title)
    );
    for (i, (cat, row)) in categories.iter().zip(shares).enumerate() {
        let y = top + bar_h * 1.5 * i as f64;
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" class="tick" text-anchor="end">{}</text>"#,
            left - 6.0,
            y + bar_h * 0.7,
            esc(&cat.chars().take(24).collect::<String>())
        );
        let mut x = left;
        for (k, v) in row.iter().enumerate() {
            let width = pw * v;
            if width > 0.0 {
                let _ = write!(
                    s,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{bar_h}" fill="{}"><title>{}, {}: {:.0}%</title></rect>"#,
                    PALETTE[k % PALETTE.len()],
                    esc(cat),
                    esc(&segments[k]),
                    v * 100.0
                );
            }
            x += width;
        }
    }
    let axis_y = top + bar_h * 1.5 * categories.len() as f64;
    for k in 0..=4 {
        let x = left + pw * k as f64 / 4.0;
        let _ = write!(
            s,
            r#"<text x="{x:.1}" y="{:.1}" class="tick" text-anchor="middle">{}%</text>"#,
            axis_y + 12.0,
            k * 25
        );
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" class="axis" text-anchor="middle">share of the group's recommendations</text>"#,
        left + pw / 2.0,
        axis_y + 30.0
    );
    for (k, seg) in segments.iter().enumerate() {
        let ly = top + 14.0 * k as f64 + 6.0;
        let _ = write!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="12" height="10" fill="{}"/><text x="{:.1}" y="{:.1}" class="legend">{}</text>"#,
            left + pw + 16.0,
            ly - 8.0,
            PALETTE[k % PALETTE.len()],
            left + pw + 32.0,
            ly + 1.0,
            esc(seg)
        );
    }
    s.push_str("</svg>");
    s
}

/// Series by group over sorted periods from a long frame (group, period, `value`), for rows
/// where `key_col` equals `key`.
fn series_by_group(long: &DataFrame, key_col: &str, key: &str, value: &str, periods: &[String]) -> Result<Vec<Series>> {
    let keys = column_texts(long, key_col)?;
    let groups = column_texts(long, "group")?;
    let ps = column_texts(long, "period")?;
    let vs = column_floats(long, value)?;
    let names: Vec<String> = long.get_column_names().iter().map(|c| c.to_string()).collect();
    let has = |c: &str| names.iter().any(|n| n == c);
    let (lo_col, hi_col) = (format!("{value}_ci_low"), format!("{value}_ci_high"));
    let (los, his) = if has(&lo_col) && has(&hi_col) {
        (column_floats(long, &lo_col)?, column_floats(long, &hi_col)?)
    } else {
        (vec![None; long.height()], vec![None; long.height()])
    };
    let docs = if has("documents") {
        column_floats(long, "documents")?
    } else {
        vec![None; long.height()]
    };
    let mut by: BTreeMap<String, Series> = BTreeMap::new();
    for i in 0..keys.len() {
        if keys[i] != key {
            continue;
        }
        let row = by.entry(groups[i].clone()).or_insert_with(|| Series {
            name: groups[i].clone(),
            values: vec![None; periods.len()],
            intervals: vec![None; periods.len()],
            documents: vec![None; periods.len()],
        });
        if let Some(p) = periods.iter().position(|p| *p == ps[i]) {
            row.values[p] = vs[i];
            row.intervals[p] = los[i].zip(his[i]);
            row.documents[p] = docs[i].map(|d| d as usize);
        }
    }
    Ok(by.into_values().collect())
}

/// Highlights the actor and the action of a recommendation inside its sentence.
fn highlight(sentence: &str, actor_raw: &str, action: &str) -> String {
    let mut out = esc(sentence);
    for (needle, class) in [(action, "action"), (actor_raw, "actor")] {
        if needle.is_empty() {
            continue;
        }
        let n = esc(needle);
        if let Some(i) = out.find(&n) {
            out = format!(
                r#"{}<mark class="{class}">{n}</mark>{}"#,
                &out[..i],
                &out[i + n.len()..]
            );
        }
    }
    out
}

/// The contrasts of two groups or periods: the measures whose difference survives the
/// false-discovery correction first, then the smallest p-values, at most 30 rows.
fn contrast_section(df: &DataFrame, a: &str, b: &str) -> Result<String> {
    let cols = [
        "table",
        "measure",
        "name",
        "value_a",
        "value_b",
        "difference",
        "difference_ci_low",
        "difference_ci_high",
        "p_value",
        "q_value",
    ];
    let v: Vec<Vec<String>> = cols.iter().map(|c| column_texts(df, c)).collect::<Result<_>>()?;
    let num = |s: &str| s.parse::<f64>().unwrap_or(f64::INFINITY);
    let mut order: Vec<usize> = (0..df.height()).collect();
    order.sort_by(|&i, &j| {
        num(&v[9][i])
            .total_cmp(&num(&v[9][j]))
            .then(num(&v[8][i]).total_cmp(&num(&v[8][j])))
    });
    let significant = order.iter().filter(|&&i| num(&v[9][i]) <= 0.05).count();
    let mut s = String::new();
    let _ = write!(
        s,
        "<section><h2>Contrast: {} against {}</h2><p>B − A for every measure ({} in all; full table in <code>contrasts.csv</code> from <code>rhetor compare --contrast</code>), with its bootstrap interval, a permutation p-value over documents and the Benjamini–Hochberg q-value within each table. {} differences have q ≤ 0.05.</p><table><thead><tr><th>table</th><th>measure</th><th>of</th><th>{}</th><th>{}</th><th>B − A</th><th>interval</th><th>p</th><th>q</th></tr></thead><tbody>",
        esc(b),
        esc(a),
        df.height(),
        significant,
        esc(a),
        esc(b)
    );
    for &i in order.iter().take(30) {
        let _ = write!(
            s,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{} to {}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            if num(&v[9][i]) <= 0.05 { " class=sig" } else { "" },
            esc(&v[0][i]),
            esc(&v[1][i]),
            esc(&v[2][i]),
            esc(&v[3][i]),
            esc(&v[4][i]),
            esc(&v[5][i]),
            esc(&v[6][i]),
            esc(&v[7][i]),
            esc(&v[8][i]),
            esc(&v[9][i])
        );
    }
    s.push_str("</tbody></table></section>");
    Ok(s)
}

/// Builds the report; returns the path written.
pub fn run(c: &ReportConfig) -> Result<PathBuf> {
    let manifest = crate::manifest::read_completed(&c.results)?;
    let docs = read_result_table(&c.results, "documents")?.with_context(|| {
        format!(
            "{} holds no documents.parquet; point report at the output folder of `rhetor analyze`",
            c.results.display()
        )
    })?;
    let mentions = read_result_table(&c.results, "mentions")?;
    let cc = CompareConfig {
        results: c.results.clone(),
        by: c.by.clone(),
        period: c.period,
        out: PathBuf::new(),
        top: 1000,
        filters: vec![],
        entities: vec![],
        min_count: 5,
        formats: vec![],
        csv_raw: false,
        since: None,
        until: None,
        rolling: 1,
        contrast: c.contrast.clone(),
        uncertainty: c.uncertainty.clone(),
    };
    let groups = compare::document_groups(&docs, mentions.as_ref(), &cc)?;
    let stances = read_result_table(&c.results, "stances")?;
    let recs = read_result_table(&c.results, "recommendations")?;
    let measures = compare::uncertainty::Measures::read(&groups, mentions.as_ref(), stances.as_ref(), recs.as_ref())?;
    let cells = compare::uncertainty::cells(&groups)?;
    let with_ci = |df: DataFrame, key: &str, m: (&str, &str)| {
        compare::uncertainty::add_intervals(df, Some(key), &[m], &measures, &cells, &c.uncertainty)
    };
    let how_sure = format!(
        "Whiskers: {:.0}% bootstrap intervals over documents (none for a single document); hollow points rest on fewer than {} documents.",
        c.uncertainty.level * 100.0,
        c.min_docs
    );
    let mut periods: Vec<String> = column_texts(&groups, "period")?
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Years on an even axis: the years between the first and the last, with or without documents.
    if c.period == Period::Year {
        let years: Vec<i32> = periods.iter().filter_map(|p| p.parse().ok()).collect();
        if let (Some(&lo), Some(&hi)) = (years.iter().min(), years.iter().max()) {
            let unknown = periods.iter().any(|p| p == compare::UNKNOWN);
            periods = (lo..=hi).map(|y| y.to_string()).collect();
            if unknown {
                periods.push(compare::UNKNOWN.to_string());
            }
        }
    }
    let mut body = String::new();

    // Corpus overview.
    let counts = compare::corpus_counts(&groups)?;
    let per_group = counts
        .clone()
        .lazy()
        .group_by([col("group")])
        .agg([
            col("documents").sum(),
            col("words").sum(),
            col("period").min().alias("first"),
            col("period").max().alias("last"),
        ])
        .sort(["group"], Default::default())
        .collect()?;
    let _ = write!(
        body,
        "<section><h2>Corpus</h2><p>{} documents, {} words, grouped by <code>{}</code> and by {} (documents without either are in “{}”).</p><table><thead><tr><th>{}</th><th>documents</th><th>words</th><th>first</th><th>last</th></tr></thead><tbody>",
        groups.height(),
        column_floats(&groups, "words")?.iter().flatten().sum::<f64>(),
        esc(&c.by),
        serde_json::to_value(c.period).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
        compare::UNKNOWN,
        esc(&c.by)
    );
    let g = column_texts(&per_group, "group")?;
    let d = column_texts(&per_group, "documents")?;
    let wds = column_texts(&per_group, "words")?;
    let f = column_texts(&per_group, "first")?;
    let l = column_texts(&per_group, "last")?;
    for i in 0..g.len() {
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&g[i]),
            d[i],
            wds[i],
            esc(&f[i]),
            esc(&l[i])
        );
    }
    body.push_str("</tbody></table></section>");

    // Entity salience over time.
    if let Some(m) = &mentions {
        let sal = with_ci(
            compare::salience(&groups, m, 1000)?,
            "entity_id",
            compare::uncertainty::SALIENCE_SHARE,
        )?;
        let totals = sal
            .clone()
            .lazy()
            .group_by([col("entity_id")])
            .agg([col("mentions").sum(), col("entity_name").first()])
            .sort_by_exprs(
                [col("mentions"), col("entity_id")],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .limit(c.top_entities as IdxSize)
            .collect()?;
        let _ = write!(
            body,
            "<section><h2>Entity salience over time</h2><p>Share of all entity mentions in each group and period that name the entity. {how_sure}</p>"
        );
        for (id, name) in column_texts(&totals, "entity_id")?
            .iter()
            .zip(column_texts(&totals, "entity_name")?)
        {
            let series = series_by_group(&sal, "entity_id", id, "share", &periods)?;
            let max = series
                .iter()
                .flat_map(|s| s.values.iter().flatten())
                .cloned()
                .fold(0.0, f64::max);
            let top = ((max * 10.0).ceil() / 10.0).clamp(0.1, 1.0);
            body.push_str(&line_chart(
                &format!("{name} ({id}): share of mentions"),
                &periods,
                &series,
                "share of mentions",
                (0.0, top),
                c.min_docs,
            ));
        }
        body.push_str("</section>");
    }

    // Stance over time.
    if let Some(st) = &stances {
        let long = with_ci(
            compare::stance(&groups, st)?,
            "target",
            compare::uncertainty::STANCE_MEAN,
        )?;
        let _ = write!(
            body,
            "<section><h2>Stance over time</h2><p>Mean stance score per target (−1 against … +1 favour), by group and period. Targets from <code>targets.toml</code>; actors mentioned twice or more in a document are targets of that document. {how_sure}</p>"
        );
        let targets: BTreeSet<(String, String)> = column_texts(&long, "target")?
            .into_iter()
            .zip(column_texts(&long, "target_name")?)
            .filter(|(t, _)| !t.starts_with("entity:"))
            .collect();
        for (t, name) in targets {
            let series = series_by_group(&long, "target", &t, "mean_score", &periods)?;
            body.push_str(&line_chart(
                &format!("Stance toward {name}"),
                &periods,
                &series,
                "mean stance score",
                (-1.0, 1.0),
                c.min_docs,
            ));
        }
        body.push_str("</section>");
    }

    // Recommendations.
    if let Some((a, b)) = &c.contrast {
        body.push_str(&contrast_section(
            &compare::contrast_table(&groups, &cc, (a, b), &measures, mentions.as_ref(), stances.as_ref())?,
            a,
            b,
        )?);
    }
    if let Some(r) = recs {
        let mix = compare::recommendation_mix(&groups, &r, "instrument")?
            .lazy()
            .with_column(lit("all").alias("period"))
            .group_by([col("group"), col("instrument")])
            .agg([col("recommendations").sum()])
            .collect()?;
        let gs: Vec<String> = column_texts(&mix, "group")?
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let ins: Vec<String> = column_texts(&mix, "instrument")?
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let (mg, mi, mn) = (
            column_texts(&mix, "group")?,
            column_texts(&mix, "instrument")?,
            column_floats(&mix, "recommendations")?,
        );
        let shares: Vec<Vec<f64>> = gs
            .iter()
            .map(|g| {
                let total: f64 = (0..mg.len())
                    .filter(|&i| &mg[i] == g)
                    .map(|i| mn[i].unwrap_or(0.0))
                    .sum();
                ins.iter()
                    .map(|k| {
                        (0..mg.len())
                            .filter(|&i| &mg[i] == g && &mi[i] == k)
                            .map(|i| mn[i].unwrap_or(0.0))
                            .sum::<f64>()
                            / total.max(1.0)
                    })
                    .collect()
            })
            .collect();
        body.push_str("<section><h2>Recommendation instruments</h2>");
        body.push_str(&stacked_bars("Instruments recommended, by group", &gs, &ins, &shares));
        // The recommendations themselves (instruments other than "other" first).
        // Each document's group as the charts have it (`--by period` is no documents column).
        let doc_group: BTreeMap<String, String> = column_texts(&groups, "doc_id")?
            .into_iter()
            .zip(column_texts(&groups, "group")?)
            .collect();
        let doc_meta: BTreeMap<String, (String, String)> = column_texts(&docs, "doc_id")?
            .into_iter()
            .zip(column_texts(&docs, "date")?)
            .map(|(d, date)| {
                let g = doc_group.get(&d).cloned().unwrap_or_else(|| compare::UNKNOWN.into());
                (d, (g, date))
            })
            .collect();
        let cols = [
            "doc_id",
            "sent_id",
            "actor",
            "actor_raw",
            "modality",
            "strength",
            "action",
            "instrument",
            "hedged",
            "speaker",
            "score",
            "text",
        ];
        let v: Vec<Vec<String>> = cols.iter().map(|c| column_texts(&r, c)).collect::<Result<_>>()?;
        let mut order: Vec<usize> = (0..r.height()).collect();
        order.sort_by_key(|&i| (v[7][i] == "other", v[0][i].clone(), v[1][i].parse::<i64>().unwrap_or(0)));
        let _ = write!(
            body,
            "<h3>The recommendations ({} in all; the actor and the action are highlighted)</h3><table class=recs><thead><tr><th>{}</th><th>date</th><th>sentence</th><th>actor</th><th>modality</th><th>instrument</th><th>hedged</th><th>speaker</th><th>score</th></tr></thead><tbody>",
            r.height(),
            esc(&c.by)
        );
        for &i in order.iter().take(300) {
            let (grp, date) = doc_meta.get(&v[0][i]).cloned().unwrap_or_default();
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td></tr>",
                esc(&grp),
                esc(&date),
                highlight(&v[11][i], &v[3][i], &v[6][i]),
                esc(&v[2][i]),
                esc(&v[4][i]),
                esc(&v[5][i]),
                esc(&v[7][i]),
                esc(&v[8][i]),
                esc(&v[9][i]),
                esc(&v[10][i])
            );
        }
        body.push_str("</tbody></table>");
        if r.height() > 300 {
            let _ = write!(
                body,
                "<p>… and {} more in <code>recommendations.csv</code>.</p>",
                r.height() - 300
            );
        }
        body.push_str("</section>");
    }

    // Provenance.
    let _ = write!(
        body,
        "<section><h2>Provenance</h2><p>rhetor {} (report), analysis by rhetor {}, {}.</p><table><thead><tr><th>model</th><th>sha256</th></tr></thead><tbody>",
        crate::VERSION,
        esc(manifest["rhetor_version"].as_str().unwrap_or("?")),
        esc(manifest["finished_at"].as_str().unwrap_or("")),
    );
    for m in manifest["models"].as_array().cloned().unwrap_or_default() {
        let _ = write!(
            body,
            "<tr><td>{}</td><td><code>{}</code></td></tr>",
            esc(m["id"].as_str().unwrap_or("")),
            esc(m["sha256"].as_str().unwrap_or(""))
        );
    }
    let _ = write!(
        body,
        "</tbody></table><details><summary>Configuration</summary><pre>{}</pre></details></section>",
        esc(&serde_json::to_string_pretty(&manifest["configuration"]).unwrap_or_default())
    );

    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>rhetor report</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; padding: 0 1rem; }}
h1 {{ margin-bottom: .2rem; }} h2 {{ border-bottom: 1px solid #ccc; padding-bottom: .2rem; margin-top: 2.5rem; }}
table {{ border-collapse: collapse; width: 100%; font-size: .9rem; }} th, td {{ border-bottom: 1px solid #e5e5e5; padding: .3rem .5rem; text-align: left; vertical-align: top; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
svg.chart {{ width: 100%; max-width: 760px; display: block; margin: 1rem 0; }}
.ctitle {{ font-size: 14px; font-weight: 600; }} .tick {{ font-size: 11px; fill: #444; }} .axis {{ font-size: 12px; fill: #222; }} .legend {{ font-size: 11px; }}
tr.sig td {{ font-weight: 600; }}
mark.actor {{ background: #cde7f7; }} mark.action {{ background: #fde3b4; }}
code, pre {{ font-size: .85rem; }} pre {{ background: #f6f6f6; padding: .5rem; overflow-x: auto; }}
</style></head><body>
<h1>rhetor report</h1><p>From <code>{}</code>. Generated by rhetor {}.</p>
{body}
</body></html>
"#,
        esc(&c.results.display().to_string()),
        crate::VERSION
    );
    if let Some(parent) = c.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    crate::tables::write_whole(&c.out, html.as_bytes()).with_context(|| format!("cannot write {}", c.out.display()))?;
    Ok(c.out.clone())
}
