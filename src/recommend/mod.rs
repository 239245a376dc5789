//! Recommendations stage: who should do what to whom, how strongly, with which instrument.
//!
//! Which part decides what:
//! - the **rules** (`rules`, with the cue lexicon and instrument taxonomy in `data/recommend/`)
//!   decide which cues are recommendations and read every field: actor, modality, strength,
//!   polarity, action, target, instrument, hedging and speaker;
//! - the **classifier** (`classifier`, a logistic regression on the shared encoder's states) gives
//!   the `score`, and vetoes a rule candidate only when it is confident the sentence prescribes
//!   nothing ([`VETO_BELOW`]) and the author is the speaker (its training sentences hold no
//!   quotations). Without a classifier, the score is the rules' own confidence.

pub mod classifier;
pub mod lexicon;
pub mod rules;

use crate::document::{Document, Layer};
use crate::model::Encoder;
use crate::pipeline::Component;
use std::sync::Arc;

/// A candidate whose sentence the classifier scores below this is dropped.
pub const VETO_BELOW: f32 = 0.1;

/// Pipeline component: rule candidates, scored (and rarely vetoed) by the classifier.
pub struct Recommender {
    pub lexicon: Arc<lexicon::Lexicon>,
    /// The classifier and the encoder it reads, when configured.
    pub classifier: Option<(Arc<classifier::RecommendClassifier>, Arc<Encoder>)>,
}

impl Component for Recommender {
    fn name(&self) -> &'static str {
        "recommendations"
    }
    /// Mentions, when an earlier stage wrote them, give actors and targets their entity ids.
    fn reads(&self) -> &'static [Layer] {
        &[Layer::Text, Layer::Sentences, Layer::Tokens]
    }
    fn writes(&self) -> &'static [Layer] {
        &[Layer::Recommendations]
    }
    fn process(&self, doc: &mut Document) -> anyhow::Result<()> {
        let prior_states = doc.states.take();
        let token_texts = doc.token_texts();
        let mut found = rules::find(doc, &token_texts, &self.lexicon);
        if let Some((clf, enc)) = &self.classifier {
            if !found.is_empty() {
                let mut words: Vec<Vec<&str>> = vec![Vec::new(); doc.sentences.len()];
                for (t, w) in doc.tokens.iter().zip(&token_texts) {
                    words[t.sent_id].push(w);
                }
                let layers = clf.config.layers;
                let mut states = match prior_states {
                    Some(s) if s.layers == layers => s,
                    _ => crate::model::encoder::SentenceStates::new(layers, doc.sentences.len()),
                };
                let mut sents: Vec<usize> = found.iter().map(|r| r.sent_id).collect();
                sents.dedup();
                states.ensure(enc, &sents, &words)?;
                let mut probs = std::collections::HashMap::new();
                for &s in &sents {
                    let p = classifier::pooled(states.sentences[s].as_deref().unwrap_or(&[]), enc.hidden_size())?;
                    probs.insert(s, clf.probability(&p));
                }
                // The classifier never saw quotations, so it does not veto quoted speakers.
                found.retain(|r| r.speaker != "author" || probs[&r.sent_id] >= VETO_BELOW);
                for r in &mut found {
                    r.score = (probs[&r.sent_id] * 1e4).round() / 1e4;
                }
                doc.recommendations = found;
                doc.states = Some(states);
                return Ok(());
            }
        }
        doc.recommendations = found;
        doc.states = prior_states;
        Ok(())
    }
}

/// The recommendation classifier `analyze` uses unless told otherwise.
pub fn default_classifier_dir() -> std::path::PathBuf {
    let local = std::path::PathBuf::from("models/recommend");
    if local.join("config.json").is_file() {
        local
    } else {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/recommend")
    }
}
