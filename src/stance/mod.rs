//! Stance stage: the author's stance toward targets (a policy, an instrument, an actor). `data`
//! reads gold files and scores predictions; `model` is the stance classifier on the shared encoder.

pub mod data;
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

use crate::document::{Document, Layer};
use crate::model::Encoder;
use crate::pipeline::Component;
use candle_core::Tensor;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The author's stance toward one target in one document.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentStance {
    /// The configured target's id, or `entity:ENTITY_ID` for an actor mentioned in the document.
    pub target: String,
    pub target_name: String,
    /// `config` (from targets.toml) or `entity`.
    pub kind: &'static str,
    pub stance: data::Stance,
    /// Mean over evidence sentences of P(favor) - P(against), in [-1, 1].
    pub score: f32,
    /// Sentences that name the target.
    pub n_sentences: usize,
    /// The sentences whose own stance is the document's (for neutral: every sentence scored).
    pub evidence: Vec<usize>,
}

/// A document's mean score must pass this for favor or against; below it, neutral.
pub const STANCE_THRESHOLD: f32 = 0.1;
/// Persons and organisations mentioned at least this often become targets of their document.
pub const ENTITY_TARGET_MIN_MENTIONS: usize = 2;

/// Pipeline component: the stance model over every sentence that names a target.
pub struct StanceDetector {
    pub encoder: Arc<Encoder>,
    pub model: Arc<model::StanceModel>,
    pub targets: Arc<targets::Targets>,
    /// Frozen states of target descriptions, computed once per run.
    pub target_states: Mutex<HashMap<String, Tensor>>,
}

impl StanceDetector {
    fn target_state(&self, description: &str) -> anyhow::Result<Tensor> {
        if let Some(t) = self.target_states.lock().expect("cache lock").get(description) {
            return Ok(t.clone());
        }
        let t = self.model.encode_target(&self.encoder, description)?;
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
        &[Layer::Text, Layer::Sentences, Layer::Tokens, Layer::Mentions]
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
        // (target id, name, kind, description, evidence sentences)
        let mut wanted: Vec<(String, String, &'static str, String, Vec<usize>)> = Vec::new();
        for t in &self.targets.targets {
            let sents: Vec<usize> = (0..doc.sentences.len())
                .filter(|&i| {
                    t.matches(&lower[i])
                        || t.entity_id
                            .as_ref()
                            .is_some_and(|id| doc.mentions.iter().any(|m| m.sent_id == i && &m.entity_id == id))
                })
                .collect();
            if !sents.is_empty() {
                wanted.push((t.id.clone(), t.name.clone(), "config", t.description.clone(), sents));
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
                ));
            }
        }
        if wanted.is_empty() {
            doc.states = prior_states;
            return Ok(());
        }
        let layers = self.model.config.frozen_layers;
        let mut states = match prior_states {
            Some(s) if s.layers == layers => s,
            _ => crate::model::encoder::SentenceStates::new(layers, doc.sentences.len()),
        };
        let mut all: Vec<usize> = wanted.iter().flat_map(|w| w.4.iter().copied()).collect();
        all.sort_unstable();
        all.dedup();
        states.ensure(&self.encoder, &all, &words)?;
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
            for c in 0..3 {
                e.0[c] += p[c];
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
                aggregate(&w.0, &w.1, w.2, &sent_probs)
            })
            .collect();
        doc.stances = stances;
        doc.states = Some(states);
        Ok(())
    }
}

/// A document's stance toward a target from its sentences' probabilities (against, favor,
/// neutral): the mean of P(favor) - P(against) decides, with [`STANCE_THRESHOLD`].
pub fn aggregate(target: &str, name: &str, kind: &'static str, sent_probs: &[(usize, [f32; 3])]) -> DocumentStance {
    let n = sent_probs.len().max(1) as f32;
    let score = sent_probs.iter().map(|(_, p)| p[1] - p[0]).sum::<f32>() / n;
    let stance = if score >= STANCE_THRESHOLD {
        data::Stance::Favor
    } else if score <= -STANCE_THRESHOLD {
        data::Stance::Against
    } else {
        data::Stance::Neutral
    };
    let evidence: Vec<usize> = sent_probs
        .iter()
        .filter(|(_, p)| stance == data::Stance::Neutral || model::argmax(p) == stance)
        .map(|(s, _)| *s)
        .collect();
    DocumentStance {
        target: target.to_string(),
        target_name: name.to_string(),
        kind,
        stance,
        score: (score * 1e4).round() / 1e4,
        n_sentences: sent_probs.len(),
        evidence,
    }
}
