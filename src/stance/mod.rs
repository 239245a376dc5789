//! Stance stage: the author's stance toward targets (a policy, an instrument, an actor). `data`
//! reads gold files and scores predictions; `model` is the stance classifier on the shared encoder.

pub mod aggregate;
pub mod data;
pub mod devset;
pub mod model;

/// The stance model `analyze` uses unless told otherwise: `models/stance` in the working
/// directory, else the one in rhetor's source tree.
pub fn default_stance_model_dir() -> std::path::PathBuf {
    let local = std::path::PathBuf::from("models/stance");
    if local.join("config.json").is_file() {
        local
    } else {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/stance")
    }
}

pub mod targets;

pub use crate::document::DocumentStance;
use crate::document::{Document, Layer};
use crate::pipeline::Component;
use candle_core::Tensor;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A document's mean score must pass this for favor or against; below it, neutral.
pub const STANCE_THRESHOLD: f32 = 0.1;
/// Persons and organisations mentioned at least this often become targets of their document.
pub const ENTITY_TARGET_MIN_MENTIONS: usize = 2;

/// Pipeline component: the stance model over every sentence that names a target.
pub struct StanceDetector {
    /// The shared states the stance model reads (those it was trained on).
    pub source: Arc<dyn crate::model::encoder::StateSource>,
    pub model: Arc<model::StanceModel>,
    pub targets: Arc<targets::Targets>,
    /// Frozen states of target descriptions, computed once per run.
    pub target_states: Mutex<HashMap<String, Tensor>>,
    /// The document-level decision learned on labelled op-eds (`aggregate.json` of the stance
    /// model's folder), when there is one; else the fixed policy of [`aggregate`].
    pub aggregator: Option<Arc<aggregate::Aggregator>>,
}

impl StanceDetector {
    fn target_state(&self, description: &str) -> anyhow::Result<Tensor> {
        if let Some(t) = self.target_states.lock().expect("cache lock").get(description) {
            return Ok(t.clone());
        }
        let t = self.model.encode_target(self.source.as_ref(), description)?;
        self.target_states
            .lock()
            .expect("cache lock")
            .insert(description.to_string(), t.clone());
        Ok(t)
    }
}

impl Component for StanceDetector {
    fn name(&self) -> &'static str {
        "stance"
    }
    fn reads(&self) -> &'static [Layer] {
        &[
            Layer::Text,
            Layer::Sentences,
            Layer::Tokens,
            Layer::Mentions,
            Layer::Recommendations,
        ]
    }
    fn writes(&self) -> &'static [Layer] {
        &[Layer::Stances, Layer::States]
    }
    fn process(&self, doc: &mut Document) -> anyhow::Result<()> {
        let prior_states = doc.states.take();
        let token_texts = doc.token_texts();
        let mut words: Vec<Vec<&str>> = vec![Vec::new(); doc.sentences.len()];
        for (t, w) in doc.tokens.iter().zip(&token_texts) {
            words[t.sent_id].push(w);
        }
        let lower: Vec<Vec<String>> = words
            .iter()
            .map(|ws| ws.iter().map(|w| w.to_lowercase().replace('’', "'")).collect())
            .collect();
        // (target id, name, kind, description, evidence sentences, instrument, sentences in context)
        #[allow(clippy::type_complexity)]
        let mut wanted: Vec<(
            String,
            String,
            &'static str,
            String,
            Vec<usize>,
            Option<String>,
            Option<Vec<bool>>,
        )> = Vec::new();
        // Sentences mentioning each entity, for targets that need an entity nearby.
        let mut entity_sentences: HashMap<&str, Vec<usize>> = HashMap::new();
        for m in &doc.mentions {
            entity_sentences
                .entry(m.entity_id.as_str())
                .or_default()
                .push(m.sent_id);
        }
        let context_ok = |t: &targets::Target| -> Option<Vec<bool>> {
            if t.context_entities.is_empty() {
                return None;
            }
            let mut ok = vec![false; doc.sentences.len()];
            for e in &t.context_entities {
                for &s in entity_sentences.get(e.as_str()).map(|v| v.as_slice()).unwrap_or(&[]) {
                    let lo = s.saturating_sub(t.context_window);
                    let hi = (s + t.context_window).min(doc.sentences.len().saturating_sub(1));
                    ok[lo..=hi].iter_mut().for_each(|x| *x = true);
                }
            }
            Some(ok)
        };
        for t in &self.targets.targets {
            let ok = context_ok(t);
            let sents: Vec<usize> = (0..doc.sentences.len())
                .filter(|&i| ok.as_ref().is_none_or(|ok| ok[i]))
                .filter(|&i| {
                    t.matches(&lower[i])
                        || t.entity_id
                            .as_ref()
                            .is_some_and(|id| doc.mentions.iter().any(|m| m.sent_id == i && &m.entity_id == id))
                })
                .collect();
            if !sents.is_empty() {
                wanted.push((
                    t.id.clone(),
                    t.name.clone(),
                    "config",
                    t.description.clone(),
                    sents,
                    t.instrument.clone(),
                    ok,
                ));
            }
        }
        for e in crate::entities::link::summarise(&doc.mentions) {
            if (e.label == "PER" || e.label == "ORG") && e.mentions >= ENTITY_TARGET_MIN_MENTIONS {
                let mut sents: Vec<usize> = doc
                    .mentions
                    .iter()
                    .filter(|m| m.entity_id == e.entity_id)
                    .map(|m| m.sent_id)
                    .collect();
                sents.dedup();
                wanted.push((
                    format!("entity:{}", e.entity_id),
                    e.entity_name.clone(),
                    "entity",
                    e.entity_name.clone(),
                    sents,
                    None,
                    None,
                ));
            }
        }
        if wanted.is_empty() {
            doc.states = prior_states;
            return Ok(());
        }
        let mut states =
            crate::model::encoder::SentenceStates::reuse(prior_states, self.source.as_ref(), doc.sentences.len());
        let mut all: Vec<usize> = wanted.iter().flat_map(|w| w.4.iter().copied()).collect();
        all.sort_unstable();
        all.dedup();
        states.ensure(self.source.as_ref(), &all, &words)?;
        let target_states: Vec<Tensor> = wanted
            .iter()
            .map(|w| self.target_state(&w.3))
            .collect::<anyhow::Result<_>>()?;
        let mut pairs = Vec::new();
        let mut owner = Vec::new();
        for (k, w) in wanted.iter().enumerate() {
            for &s in &w.4 {
                for win in states.sentences[s].as_deref().unwrap_or(&[]) {
                    pairs.push((&target_states[k], win));
                    owner.push((k, s));
                }
            }
        }
        let probs = self.model.classify(&pairs)?;
        // Per target and sentence: mean over the sentence's windows.
        let mut per: HashMap<(usize, usize), ([f32; 3], f32)> = HashMap::new();
        for (p, &o) in probs.iter().zip(&owner) {
            let e = per.entry(o).or_insert(([0.0; 3], 0.0));
            for (acc, v) in e.0.iter_mut().zip(p) {
                *acc += v;
            }
            e.1 += 1.0;
        }
        let stances = wanted
            .iter()
            .enumerate()
            .map(|(k, w)| {
                let sent_probs: Vec<(usize, [f32; 3])> =
                    w.4.iter()
                        .filter_map(|&s| per.get(&(k, s)).map(|(p, n)| (s, p.map(|v| v / n))))
                        .collect();
                // The author's recommendations on the target's instrument: +1 act, -1 refrain.
                let recs: Vec<(usize, f32)> = match &w.5 {
                    Some(ins) => doc
                        .recommendations
                        .iter()
                        .filter(|r| r.speaker == "author" && r.instruments.contains(ins))
                        .filter(|r| w.6.as_ref().is_none_or(|ok| ok[r.sent_id]))
                        .map(|r| {
                            let sign = match r.polarity {
                                crate::recommend::lexicon::Polarity::Act => 1.0,
                                crate::recommend::lexicon::Polarity::Refrain => -1.0,
                            };
                            (r.sent_id, sign)
                        })
                        .collect(),
                    None => Vec::new(),
                };
                let reported: Vec<bool> = w.4.iter().map(|&s| aggregate::is_reported(&lower[s])).collect();
                let reported_of = |s: usize| w.4.iter().position(|&x| x == s).is_some_and(|k| reported[k]);
                let mut d = aggregate(&w.0, &w.1, w.2, &sent_probs, &recs);
                d.features = aggregate::features(w.2, &sent_probs, &recs, &reported_of, doc.sentences.len());
                if let Some(agg) = &self.aggregator {
                    agg.decide(&mut d);
                }
                d
            })
            .collect();
        doc.stances = stances;
        doc.states = Some(states);
        Ok(())
    }
}

/// A document's stance toward a target. `sent_probs`: the stance model's probabilities (against,
/// favor, neutral) for each sentence naming the target; `recs`: the author's recommendations on
/// the target's instrument (sentence, +1 act or -1 refrain).
///
/// Policy: when the recommendations lean one way (more act than refrain, or the reverse), they
/// decide, and their sentences are the evidence. Otherwise the model decides: the mean of
/// P(favor) - P(against) over the sentences, against [`STANCE_THRESHOLD`]. The score is that mean
/// with each recommendation's sentence counted as its sign.
pub fn aggregate(
    target: &str,
    name: &str,
    kind: &'static str,
    sent_probs: &[(usize, [f32; 3])],
    recs: &[(usize, f32)],
) -> DocumentStance {
    let mut per_sentence: std::collections::BTreeMap<usize, f32> =
        sent_probs.iter().map(|(s, p)| (*s, p[1] - p[0])).collect();
    let mut rec_sum: std::collections::BTreeMap<usize, f32> = std::collections::BTreeMap::new();
    for &(s, sign) in recs {
        *rec_sum.entry(s).or_default() += sign;
    }
    for (&s, &v) in &rec_sum {
        per_sentence.insert(s, v.clamp(-1.0, 1.0));
    }
    let n = per_sentence.len().max(1) as f32;
    let score = per_sentence.values().sum::<f32>() / n;
    let net: f32 = recs.iter().map(|r| r.1).sum();
    let (stance, basis, evidence) = if net != 0.0 {
        let stance = if net > 0.0 {
            data::Stance::Favor
        } else {
            data::Stance::Against
        };
        let evidence = rec_sum
            .iter()
            .filter(|(_, v)| v.signum() == net.signum())
            .map(|(s, _)| *s)
            .collect();
        (stance, "recommendations", evidence)
    } else {
        let stance = if score >= STANCE_THRESHOLD {
            data::Stance::Favor
        } else if score <= -STANCE_THRESHOLD {
            data::Stance::Against
        } else {
            data::Stance::Neutral
        };
        let evidence = sent_probs
            .iter()
            .filter(|(_, p)| stance == data::Stance::Neutral || model::argmax(p) == stance)
            .map(|(s, _)| *s)
            .collect();
        (stance, "model", evidence)
    };
    DocumentStance {
        target: target.to_string(),
        target_name: name.to_string(),
        kind,
        stance,
        score: (score * 1e4).round() / 1e4,
        n_sentences: per_sentence.len(),
        evidence,
        basis,
        features: Vec::new(),
    }
}
