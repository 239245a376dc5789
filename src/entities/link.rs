//! Entity linking: model mentions and knowledge-base matches merged into one set of mentions,
//! each with a canonical entity.
//!
//! Policy, in order:
//! 1. Candidates are the NER model's spans and the knowledge base's matches (names, aliases,
//!    demonyms) in each sentence.
//! 2. Overlapping candidates: the longest span wins; at equal length the knowledge base wins (it
//!    brings an id; if the model found the same span, the mention's source is `model`). Inside a descriptive
//!    knowledge-base phrase of five or more words with lower-case words in it ("the five permanent
//!    members of the United Nations Security Council, plus Germany"), the known names it contains
//!    are kept as nested mentions.
//! 3. Ids come from the knowledge base: a span that is a known form, or that contains a known name
//!    (not a demonym: "British Embassy" is not the United Kingdom), takes its entity, and with it
//!    the entity's type (demonyms stay MISC).
//! 4. Within a document, a person's surname or title-and-surname ("Khamenei", "Ayatollah
//!    Khamenei") links to the full name introduced earlier, and an acronym to an organisation whose
//!    initials it spells (source `coref`).
//! 5. What is still unlinked gets a document-level NIL cluster `nil:DOC_ID:name`, shared by every
//!    mention of the same name in the document.

use super::kb::KnowledgeBase;
use crate::document::Document;
pub use crate::document::Mention;

/// A span the NER model found: token indices into `doc.tokens`, label and probability.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpan {
    pub token_start: usize,
    pub token_end: usize,
    pub label: String,
    pub score: f32,
}

/// Per-document summary of an entity.
#[derive(Debug, Clone, PartialEq)]
pub struct EntitySummary {
    pub entity_id: String,
    pub entity_name: String,
    pub label: String,
    pub mentions: usize,
    pub first_sent: usize,
    /// Share of the document's mentions that name this entity.
    pub salience: f64,
}

const TITLES: &[&str] = &[
    "President",
    "Ayatollah",
    "Grand",
    "Supreme",
    "Leader",
    "Prime",
    "Minister",
    "Foreign",
    "Secretary",
    "Mr.",
    "Mrs.",
    "Ms.",
    "Dr.",
    "Gen.",
    "General",
    "Sen.",
    "Senator",
    "Rep.",
    "Gov.",
    "Ambassador",
    "King",
    "Queen",
    "Prince",
    "Crown",
    "Chancellor",
    "Sheikh",
    "Imam",
    "Hojatoleslam",
    "Defense",
    "State",
    "Vice",
    "Speaker",
    "Admiral",
    "Adm.",
    "Col.",
    "First",
    "Lady",
    "Lord",
    "Sir",
    "Pope",
    "Governor",
    "Representative",
    "Congressman",
    "Congresswoman",
    "Justice",
    "Chief",
    "Judge",
    "Mayor",
    "Attorney",
    "Lt.",
    "Maj.",
    "Capt.",
    "Prof.",
    "Professor",
    "Rev.",
    "Reverend",
    "Rabbi",
    "Cardinal",
    "Emir",
    "Shah",
];

/// How many leading words of a candidate span are not part of the name: a lower-case "the" (or a
/// capitalised one opening the sentence; mid-sentence "The" belongs to names such as "The Hague"),
/// and for people a run of titles ("Secretary of State John Kerry"). The rest must still start
/// with a capital, so "the supreme leader" stays whole.
fn name_start(span: &[&str], is_person: bool, trim_capital_the: bool) -> usize {
    let capitalised = |w: &str| w.chars().next().is_some_and(|c| c.is_uppercase());
    let mut k = 0;
    if span.len() > 1 && (span[0] == "the" || (trim_capital_the && span[0] == "The")) && capitalised(span[1]) {
        k = 1;
    }
    if is_person {
        // One modifier before the titles ("U.S. President Barack Obama") goes with them.
        let first = if k + 2 < span.len() && !TITLES.contains(&span[k]) && TITLES.contains(&span[k + 1]) {
            k + 1
        } else {
            k
        };
        let mut j = first;
        while j + 1 < span.len()
            && (TITLES.contains(&span[j]) || (span[j] == "of" && j > first && TITLES.contains(&span[j + 1])))
        {
            j += 1;
        }
        if j > first && capitalised(span[j]) && !TITLES.contains(&span[j]) {
            k = j;
        }
    }
    k
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Links a document's model spans and knowledge-base matches; mentions come out in text order.
/// `words` holds the text of each of `doc.tokens` ([`Document::token_texts`]).
pub fn link(doc: &Document, words: &[&str], model: &[ModelSpan], kb: &KnowledgeBase) -> Vec<Mention> {
    // A candidate span: tokens [s, e), with the knowledge-base entity it names, if any.
    struct Cand {
        s: usize,
        e: usize,
        label: String,
        score: f32,
        entity: Option<usize>,
        from_model: bool,
        demonym: bool,
    }
    let mut cands: Vec<Cand> = Vec::new();
    let mut sent_start = 0;
    while sent_start < doc.tokens.len() {
        let sid = doc.tokens[sent_start].sent_id;
        let mut sent_end = sent_start;
        while sent_end < doc.tokens.len() && doc.tokens[sent_end].sent_id == sid {
            sent_end += 1;
        }
        for m in kb.find(&words[sent_start..sent_end]) {
            let ent = &kb.entities[m.entity];
            let label = if m.demonym {
                "MISC".to_string()
            } else {
                ent.label.clone()
            };
            cands.push(Cand {
                s: sent_start + m.start,
                e: sent_start + m.end,
                label,
                score: 1.0,
                entity: Some(m.entity),
                from_model: false,
                demonym: m.demonym,
            });
        }
        sent_start = sent_end;
    }
    for m in model {
        if kb.is_not_a_name(&words[m.token_start..m.token_end]) {
            continue;
        }
        let inner = kb.find(&words[m.token_start..m.token_end]);
        let whole = kb.lookup(&words[m.token_start..m.token_end]);
        // The longest known name inside the span gives its id ("Ayatollah Ali Khamenei"); a demonym
        // inside a longer name only modifies it ("British Embassy" is not the United Kingdom).
        let entity = whole.map(|(e, _)| e).or_else(|| {
            inner
                .iter()
                .filter(|x| !x.demonym)
                .max_by_key(|x| (x.end - x.start, std::cmp::Reverse(x.start)))
                .map(|x| x.entity)
        });
        let demonym = whole.is_some_and(|(_, d)| d);
        cands.push(Cand {
            s: m.token_start,
            e: m.token_end,
            label: m.label.clone(),
            score: m.score,
            entity,
            from_model: true,
            demonym,
        });
    }
    // Longest first; at equal length the knowledge base first; then by position.
    cands.sort_by_key(|c| (std::cmp::Reverse(c.e - c.s), c.from_model, c.s));
    let mut taken = vec![false; doc.tokens.len()];
    let mut chosen: Vec<Cand> = Vec::new();
    let mut rest: Vec<Cand> = Vec::new();
    for c in cands {
        if taken[c.s..c.e].iter().any(|&t| t) {
            // A model span that exactly repeats a chosen knowledge-base span marks it as found by the
            // model, with the model's score (the label comes from the knowledge base either way).
            if c.from_model {
                if let Some(k) = chosen.iter_mut().find(|k| k.s == c.s && k.e == c.e && !k.from_model) {
                    k.score = c.score;
                    k.from_model = true;
                    continue;
                }
            }
            rest.push(c);
            continue;
        }
        taken[c.s..c.e].iter_mut().for_each(|t| *t = true);
        chosen.push(c);
    }
    // Descriptive knowledge-base phrases ("the five permanent members of the United Nations Security
    // Council, plus Germany") keep the names inside them as nested mentions.
    let containers: Vec<(usize, usize)> = chosen
        .iter()
        .filter(|c| {
            c.entity.is_some()
                && c.e - c.s >= 5
                && words[c.s..c.e].iter().any(|w| w.chars().all(|ch| ch.is_lowercase()))
        })
        .map(|c| (c.s, c.e))
        .collect();
    let mut nested_taken = vec![false; doc.tokens.len()];
    for c in rest {
        // Only names the knowledge base knows are nested, never fragments the model found.
        let inside = c.entity.is_some()
            && containers
                .iter()
                .any(|&(s, e)| s <= c.s && c.e <= e && (s, e) != (c.s, c.e));
        if inside && !nested_taken[c.s..c.e].iter().any(|&t| t) {
            nested_taken[c.s..c.e].iter_mut().for_each(|t| *t = true);
            chosen.push(c);
        }
    }
    chosen.sort_by_key(|c| (c.s, std::cmp::Reverse(c.e)));
    // Knowledge-base forms may carry an article or a title ("the White House", "President Trump");
    // the mention itself is the name alone, as CoNLL spans are; the link stays.
    for c in chosen.iter_mut() {
        let is_person = c.entity.map_or(c.label == "PER", |e| kb.entities[e].label == "PER");
        let is_media = c.entity.is_some_and(|e| kb.entities[e].kind == "media");
        let sentence_start = c.s == 0 || doc.tokens[c.s - 1].sent_id != doc.tokens[c.s].sent_id;
        c.s += name_start(&words[c.s..c.e], is_person, sentence_start && !is_media);
    }

    let index = crate::text::CharIndex::new(&doc.text);
    let mut out: Vec<Mention> = Vec::with_capacity(chosen.len());
    for c in chosen {
        let start = doc.tokens[c.s].span.start;
        let end = doc.tokens[c.e - 1].span.end;
        let text = doc.text[index.byte(start)..index.byte(end)].to_string();
        let span_words = &words[c.s..c.e];
        // A linked mention takes its entity's type (demonyms stay MISC), so one entity has one label.
        let label = match c.entity {
            Some(e) if !c.demonym => kb.entities[e].label.clone(),
            _ => c.label.clone(),
        };
        let (entity_id, entity_name, source) = match c.entity {
            Some(e) => (
                kb.entities[e].id.clone(),
                kb.entities[e].name.clone(),
                if c.from_model { "model" } else { "kb" },
            ),
            None => match corefer(&out, span_words, &label) {
                Some((id, name)) => (id, name, "coref"),
                None => {
                    let name = span_words.join(" ").replace(" 's", "'s");
                    (format!("nil:{}:{}", doc.doc_id, slug(&name)), name, "model")
                }
            },
        };
        out.push(Mention {
            sent_id: doc.tokens[c.s].sent_id,
            token_start: c.s,
            token_end: c.e,
            start,
            end,
            text,
            label,
            entity_id,
            entity_name,
            source,
            score: c.score,
            demonym: c.demonym,
        });
    }
    one_label_per_name(&mut out);
    out
}

/// Document-level label consistency: every unlinked mention of one name takes the label its
/// mentions favour most (summed model probabilities), so "Norquist" is not a person in one
/// sentence and an organisation in the next. Demonym mentions keep MISC.
fn one_label_per_name(mentions: &mut [Mention]) {
    let mut votes: std::collections::HashMap<&str, std::collections::HashMap<&str, f32>> = Default::default();
    for m in mentions
        .iter()
        .filter(|m| m.entity_id.starts_with("nil:") && !m.demonym)
    {
        *votes
            .entry(m.entity_id.as_str())
            .or_default()
            .entry(m.label.as_str())
            .or_default() += m.score;
    }
    let winners: std::collections::HashMap<String, String> = votes
        .into_iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(id, v)| {
            let best = v
                .into_iter()
                .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(l, _)| l.to_string())
                .unwrap_or_default();
            (id.to_string(), best)
        })
        .collect();
    for m in mentions.iter_mut() {
        if let Some(label) = winners.get(&m.entity_id) {
            if !m.demonym {
                m.label = label.clone();
            }
        }
    }
}

/// An earlier mention this unlinked one refers to: a person by surname (titles ignored), or an
/// organisation by its acronym.
fn corefer(earlier: &[Mention], words: &[&str], label: &str) -> Option<(String, String)> {
    let core: Vec<&str> = words.iter().copied().filter(|w| !TITLES.contains(w)).collect();
    if label == "PER" && core.len() == 1 {
        let surname = core[0];
        return earlier
            .iter()
            .rev()
            .find(|m| {
                m.label == "PER"
                    && m.entity_name.split_whitespace().count() > 1
                    && m.entity_name.split_whitespace().last() == Some(surname)
            })
            .map(|m| (m.entity_id.clone(), m.entity_name.clone()));
    }
    if label == "ORG" && words.len() == 1 && words[0].len() >= 2 && words[0].chars().all(|c| c.is_uppercase()) {
        let acronym = words[0];
        return earlier
            .iter()
            .rev()
            .find(|m| {
                let initials: String = m
                    .text
                    .split_whitespace()
                    .filter_map(|w| w.chars().next())
                    .filter(|c| c.is_uppercase())
                    .collect();
                m.label == "ORG" && initials == acronym
            })
            .map(|m| (m.entity_id.clone(), m.entity_name.clone()));
    }
    None
}

/// Per-entity counts of a document's mentions, most mentioned first (ties by first appearance).
/// An entity's label is that of its first mention that is not a demonym (else MISC).
pub fn summarise(mentions: &[Mention]) -> Vec<EntitySummary> {
    let mut out: Vec<EntitySummary> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut label_from_name: Vec<bool> = Vec::new();
    for m in mentions {
        match index.get(m.entity_id.as_str()) {
            Some(&k) => {
                out[k].mentions += 1;
                if !label_from_name[k] && !m.demonym {
                    out[k].label = m.label.clone();
                    label_from_name[k] = true;
                }
            }
            None => {
                index.insert(m.entity_id.as_str(), out.len());
                label_from_name.push(!m.demonym);
                out.push(EntitySummary {
                    entity_id: m.entity_id.clone(),
                    entity_name: m.entity_name.clone(),
                    label: m.label.clone(),
                    mentions: 1,
                    first_sent: m.sent_id,
                    salience: 0.0,
                });
            }
        }
    }
    let total = mentions.len().max(1) as f64;
    for e in &mut out {
        e.salience = e.mentions as f64 / total;
    }
    out.sort_by_key(|e| (std::cmp::Reverse(e.mentions), e.first_sent));
    out
}

#[cfg(test)]
mod tests {
    use super::name_start;

    fn split(s: &str) -> Vec<&str> {
        s.split(' ').collect()
    }

    #[test]
    fn titles_and_articles_are_not_part_of_a_name() {
        assert_eq!(name_start(&split("President Trump"), true, false), 1);
        assert_eq!(name_start(&split("Secretary of State John Kerry"), true, false), 3);
        assert_eq!(name_start(&split("Vice President Joe Biden"), true, false), 2);
        assert_eq!(name_start(&split("U.S. President Barack Obama"), true, false), 2);
        assert_eq!(name_start(&split("the White House"), false, false), 1);
        assert_eq!(name_start(&split("The United States"), false, true), 1);
    }

    #[test]
    fn names_that_only_look_like_titles_stay_whole() {
        // A nominal alias keeps its article; mid-sentence "The" belongs to the name.
        assert_eq!(name_start(&split("the supreme leader"), true, false), 0);
        assert_eq!(name_start(&split("The Hague"), false, false), 0);
        // A title alone, or titles of a non-person, are left as found.
        assert_eq!(name_start(&split("Supreme Leader"), true, false), 0);
        assert_eq!(name_start(&split("General Motors"), false, false), 0);
        assert_eq!(name_start(&split("Trump"), true, false), 0);
    }
}
