//! Entities stage: named-entity recognition on the shared encoder (`ner`), gold files and scoring
//! (`conll`).

pub mod conll;
pub mod devset;
pub mod kb;
pub mod link;
pub mod ner;

use crate::document::{Document, Layer};
use crate::model::Encoder;
use crate::pipeline::Component;
use std::sync::Arc;

/// Pipeline component: NER on every sentence, then linking against the knowledge base.
pub struct EntityRecognizer {
    pub encoder: Arc<Encoder>,
    pub ner: Arc<ner::NerModel>,
    pub kb: Arc<kb::KnowledgeBase>,
    /// The shared states NER's pass leaves for later stages (see [`ner::NerStates`]).
    pub shared: Arc<ner::NerStates>,
}

impl EntityRecognizer {
    pub fn new(encoder: Arc<Encoder>, ner: Arc<ner::NerModel>, kb: Arc<kb::KnowledgeBase>) -> Self {
        let shared = Arc::new(ner::NerStates {
            encoder: encoder.clone(),
            ner: ner.clone(),
        });
        Self {
            encoder,
            ner,
            kb,
            shared,
        }
    }
}

impl Component for EntityRecognizer {
    fn name(&self) -> &'static str {
        "entities"
    }
    fn reads(&self) -> &'static [Layer] {
        &[Layer::Text, Layer::Sentences, Layer::Tokens]
    }
    fn writes(&self) -> &'static [Layer] {
        &[Layer::Mentions, Layer::States]
    }
    fn process(&self, doc: &mut Document) -> anyhow::Result<()> {
        // Group token indices by sentence.
        let mut sentences: Vec<Vec<usize>> = vec![Vec::new(); doc.sentences.len()];
        for (i, t) in doc.tokens.iter().enumerate() {
            sentences[t.sent_id].push(i);
        }
        sentences.retain(|s| !s.is_empty());
        let token_texts = doc.token_texts();
        let words: Vec<Vec<&str>> = sentences
            .iter()
            .map(|s| s.iter().map(|&i| token_texts[i]).collect())
            .collect();
        // The frozen-layer states NER computes are kept for the stance and recommendation stages.
        let mut kept = vec![None; words.len()];
        let tags = self
            .ner
            .predict_keeping_states(&self.encoder, &words, Some(&mut kept))?;
        use crate::model::encoder::StateSource;
        let mut states = crate::model::encoder::SentenceStates::new(self.shared.id(), doc.sentences.len());
        for (sent, k) in sentences.iter().zip(kept) {
            states.sentences[doc.tokens[sent[0]].sent_id] = k;
        }

        let mut spans = Vec::new();
        for (sent, sent_tags) in sentences.iter().zip(&tags) {
            let bio: Vec<String> = sent_tags.iter().map(|t| t.tag.clone()).collect();
            for (s, e, label) in conll::spans(&bio) {
                let score = sent_tags[s..e].iter().map(|t| t.prob).sum::<f32>() / (e - s) as f32;
                spans.push(link::ModelSpan {
                    token_start: sent[s],
                    token_end: sent[e - 1] + 1,
                    label,
                    score,
                });
            }
        }
        let mentions = link::link(doc, &token_texts, &spans, &self.kb);
        doc.mentions = mentions;
        doc.states = Some(states);
        Ok(())
    }
}

/// The NER model `analyze` uses unless told otherwise: `models/ner-conll` in the working directory,
/// else the one in rhetor's source tree.
pub fn default_ner_model_dir() -> std::path::PathBuf {
    let local = std::path::PathBuf::from("models/ner-conll");
    if local.join("config.json").is_file() {
        local
    } else {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/ner-conll")
    }
}
