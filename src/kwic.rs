//! `rhetor kwic`: keyword in context over the clean texts of an `analyze` run. The query is a word
//! or phrase (case-insensitive; `*` matches any run of letters inside a word) or an entity id, in
//! which case every linked mention is a hit, whatever alias it uses.

use crate::tables::{column_ints, column_texts, read_result_table};
use anyhow::{bail, Context, Result};
use polars::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// A table of the run, which must be there.
fn read(results: &Path, name: &str) -> Result<DataFrame> {
    read_result_table(results, name)?.with_context(|| {
        format!(
            "{} has no {name}.parquet (point kwic at the output folder of `rhetor analyze`)",
            results.display()
        )
    })
}

/// One hit: where it is, and `window` words of context either side.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub doc_id: String,
    pub author: String,
    pub date: String,
    pub sent_id: i64,
    pub start: usize,
    pub end: usize,
    pub left: String,
    pub matched: String,
    pub right: String,
}

/// Is the query an entity id (a Wikidata QID, or an id with a prefix such as `rhetor:` or `nil:`)?
pub fn is_entity_id(q: &str) -> bool {
    let qid = q.len() > 1 && q.starts_with('Q') && q[1..].chars().all(|c| c.is_ascii_digit());
    qid || (q.contains(':') && !q.contains(' '))
}

/// A word pattern: lower-case, `*` for any letters.
fn word_matches(pattern: &str, word: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == word;
    }
    let mut rest = word;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.len() >= p.len() && rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(k) => rest = &rest[k + p.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Every hit of `query` in the run's texts, in document and text order.
pub fn search(results: &Path, query: &str, window: usize) -> Result<Vec<Hit>> {
    let query = query.trim();
    if query.is_empty() {
        bail!("the query is empty");
    }
    crate::manifest::read_completed(results)?;
    let texts = read(results, "texts")?;
    let docs = read(results, "documents")?;
    let sentences = read(results, "sentences")?;
    let meta: HashMap<String, (String, String)> = column_texts(&docs, "doc_id")?
        .into_iter()
        .zip(
            column_texts(&docs, "author")?
                .into_iter()
                .zip(column_texts(&docs, "date")?),
        )
        .collect();
    // Sentence starts per document, to give each hit its sentence.
    let mut sent_starts: HashMap<String, Vec<(usize, i64)>> = HashMap::new();
    for ((d, s), st) in column_texts(&sentences, "doc_id")?
        .into_iter()
        .zip(column_ints(&sentences, "sent_id")?)
        .zip(column_ints(&sentences, "start")?)
    {
        sent_starts.entry(d).or_default().push((st as usize, s));
    }
    // Char spans of hits per document.
    let mut spans: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
    let doc_ids = column_texts(&texts, "doc_id")?;
    let bodies = column_texts(&texts, "text")?;
    if is_entity_id(query) {
        let m = read(results, "mentions")
            .context("an entity-id query needs the mentions table (run analyze without --no-entities)")?;
        for ((d, e), (s, t)) in column_texts(&m, "doc_id")?
            .into_iter()
            .zip(column_texts(&m, "entity_id")?)
            .zip(column_ints(&m, "start")?.into_iter().zip(column_ints(&m, "end")?))
        {
            if e == query {
                spans.entry(d).or_default().push((s as usize, t as usize));
            }
        }
    } else {
        let pattern: Vec<String> = query.split_whitespace().map(|w| w.to_lowercase()).collect();
        for (d, text) in doc_ids.iter().zip(&bodies) {
            let words = word_spans(text);
            let lw: Vec<String> = words
                .iter()
                .map(|&(a, b, _)| slice(text, a, b).to_lowercase())
                .collect();
            for i in 0..words.len() {
                if i + pattern.len() <= words.len()
                    && pattern.iter().enumerate().all(|(k, p)| word_matches(p, &lw[i + k]))
                {
                    spans
                        .entry(d.clone())
                        .or_default()
                        .push((words[i].0, words[i + pattern.len() - 1].1));
                }
            }
        }
    }
    let mut hits = Vec::new();
    for (d, text) in doc_ids.iter().zip(&bodies) {
        let Some(list) = spans.get_mut(d) else { continue };
        list.sort();
        let words = word_spans(text);
        let (author, date) = meta.get(d).cloned().unwrap_or_default();
        for &(s, e) in list.iter() {
            let before: Vec<&(usize, usize, usize)> = words.iter().filter(|w| w.1 <= s).collect();
            let after: Vec<&(usize, usize, usize)> = words.iter().filter(|w| w.0 >= e).collect();
            let left = before
                .get(before.len().saturating_sub(window.max(1)))
                .filter(|_| window > 0 && !before.is_empty())
                .map(|w| slice(text, w.0, s))
                .unwrap_or_default();
            let right = after
                .get(window.min(after.len()).saturating_sub(1))
                .filter(|_| window > 0)
                .map(|w| slice(text, e, w.1))
                .unwrap_or_default();
            let sent_id = sent_starts
                .get(d)
                .and_then(|v| v.iter().rev().find(|(st, _)| *st <= s).map(|x| x.1))
                .unwrap_or(0);
            hits.push(Hit {
                doc_id: d.clone(),
                author: author.clone(),
                date: date.clone(),
                sent_id,
                start: s,
                end: e,
                left: squash(&left),
                matched: squash(&slice(text, s, e)),
                right: squash(&right),
            });
        }
    }
    Ok(hits)
}

/// Collapses white space (paragraph breaks included) to single spaces, for one-line contexts.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn slice(text: &str, a: usize, b: usize) -> String {
    text.chars().skip(a).take(b.saturating_sub(a)).collect()
}

/// (start, end, index) char spans of the words of a text (letters, digits, inner hyphens and
/// apostrophes).
fn word_spans(text: &str) -> Vec<(usize, usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_alphanumeric() {
            let s = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric()
                    || (matches!(chars[i], '-' | '\'' | '’' | '.' | '+')
                        && i + 1 < chars.len()
                        && chars[i + 1].is_alphanumeric()))
            {
                i += 1;
            }
            out.push((s, i, out.len()));
        } else {
            i += 1;
        }
    }
    out
}

/// The hits as a frame (doc_id, author, date, sent_id, start, end, left, match, right).
pub fn frame(hits: &[Hit]) -> Result<DataFrame> {
    let s = |f: &dyn Fn(&Hit) -> String| hits.iter().map(f).collect::<Vec<String>>();
    Ok(DataFrame::new_infer_height(vec![
        Column::new("doc_id".into(), s(&|h| h.doc_id.clone())),
        Column::new("author".into(), s(&|h| h.author.clone())),
        Column::new("date".into(), s(&|h| h.date.clone())),
        Column::new("sent_id".into(), hits.iter().map(|h| h.sent_id).collect::<Vec<_>>()),
        Column::new("start".into(), hits.iter().map(|h| h.start as i64).collect::<Vec<_>>()),
        Column::new("end".into(), hits.iter().map(|h| h.end as i64).collect::<Vec<_>>()),
        Column::new("left".into(), s(&|h| h.left.clone())),
        Column::new("match".into(), s(&|h| h.matched.clone())),
        Column::new("right".into(), s(&|h| h.right.clone())),
    ])?)
}

/// An aligned terminal table: left context right-aligned, the match, right context.
pub fn print(hits: &[Hit], width: usize) {
    let side = width.saturating_sub(20) / 2;
    for h in hits {
        let left: String = {
            let c: Vec<char> = h.left.chars().collect();
            c[c.len().saturating_sub(side)..].iter().collect()
        };
        let right: String = h.right.chars().take(side).collect();
        println!(
            "{:<28} {:>side$}  [{}]  {}",
            format!("{}#{}", h.doc_id.chars().take(22).collect::<String>(), h.sent_id),
            left,
            h.matched,
            right,
            side = side
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_entity_ids() {
        assert!(word_matches("sanction*", "sanctions"));
        assert!(word_matches("*ment", "agreement"));
        assert!(!word_matches("sanction*", "unsanctioned"));
        assert!(word_matches("nuclear", "nuclear"));
        assert!(is_entity_id("Q57336") && is_entity_id("nil:doc:x") && !is_entity_id("Quds Force"));
    }
}
