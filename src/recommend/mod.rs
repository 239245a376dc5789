//! Recommendations stage: who should do what to whom, how strongly, with which instrument.
//!
//! Which part decides what:
//! - the **rules** (`rules`, with the cue lexicon and instrument taxonomy in `data/recommend/`)
//!   decide which cues are recommendations and read every field: actor, modality, strength,
//!   polarity, action, target, instrument, hedging and speaker;
//! - the **classifier** (`classifier`, a logistic regression on the shared encoder's states and
//!   features of the sentence and its candidates) decides whether a sentence with a candidate is
//!   the author's recommendation: below its threshold ([`classifier::ClassifierConfig::threshold`])
//!   the author's candidates in that sentence are dropped; its probability is the `score`.
//!   Candidates attributed to a quoted speaker are kept whatever it says (they are reported
//!   advice, marked by their `speaker`). Without a classifier, every rule candidate is kept and
//!   the score is the rules' own confidence.

pub mod classifier;
pub mod devset;
pub mod lexicon;
pub mod model;
pub mod rules;

use crate::document::{Document, Layer};
use crate::model::encoder::StateSource;
use crate::pipeline::Component;
use std::sync::Arc;

/// Pipeline component: rule candidates, scored (and rarely vetoed) by the classifier.
pub struct Recommender {
    pub lexicon: Arc<lexicon::Lexicon>,
    /// The classifier and the encoder it reads, when configured.
    pub classifier: Option<(Arc<classifier::RecommendClassifier>, Arc<dyn StateSource>)>,
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
        let Some((clf, enc)) = &self.classifier else {
            doc.recommendations = found;
            doc.states = prior_states;
            return Ok(());
        };
        let (inputs, states) = candidate_inputs(doc, &token_texts, &found, enc.as_ref(), prior_states)?;
        let sents: Vec<usize> = inputs.keys().copied().collect();
        let values: Vec<model::RecInput> = inputs.into_values().collect();
        let probs: std::collections::HashMap<usize, f32> = sents.into_iter().zip(clf.probabilities(&values)?).collect();
        let t = clf.config.threshold;
        found.retain(|r| r.speaker != "author" || probs.get(&r.sent_id).is_some_and(|&p| p >= t));
        for r in &mut found {
            if let Some(p) = probs.get(&r.sent_id) {
                r.score = (p * 1e4).round() / 1e4;
            }
        }
        doc.recommendations = found;
        doc.states = states;
        Ok(())
    }
}

/// What the recommendation model reads of every sentence holding a candidate: its shared states
/// and the end of the previous sentence's (computed now for sentences no earlier stage encoded),
/// where its cue is, and its rule features. Returns them by sentence, and the states for later
/// stages.
pub fn candidate_inputs(
    doc: &Document,
    token_texts: &[&str],
    found: &[rules::Recommendation],
    source: &dyn StateSource,
    prior_states: Option<crate::model::encoder::SentenceStates>,
) -> anyhow::Result<(
    std::collections::BTreeMap<usize, model::RecInput>,
    Option<crate::model::encoder::SentenceStates>,
)> {
    let mut out = std::collections::BTreeMap::new();
    if found.is_empty() {
        return Ok((out, prior_states));
    }
    let mut words: Vec<Vec<&str>> = vec![Vec::new(); doc.sentences.len()];
    let mut first_token = vec![usize::MAX; doc.sentences.len()];
    for (i, (t, w)) in doc.tokens.iter().zip(token_texts).enumerate() {
        words[t.sent_id].push(w);
        first_token[t.sent_id] = first_token[t.sent_id].min(i);
    }
    let mut states = crate::model::encoder::SentenceStates::reuse(prior_states, source, doc.sentences.len());
    let enc = source.encoder();
    let mut sents: Vec<usize> = found.iter().map(|r| r.sent_id).collect();
    sents.dedup();
    let mut wanted: Vec<usize> = sents
        .iter()
        .flat_map(|&s| [s.saturating_sub(1), s])
        .filter(|&s| !words[s].is_empty())
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    states.ensure(source, &wanted, &words)?;
    let h = enc.hidden_size();
    for &s in &sents {
        let cands: Vec<&rules::Recommendation> = found.iter().filter(|r| r.sent_id == s).collect();
        let Some(sentence) = states.sentences[s].as_ref().and_then(|w| w.first()).cloned() else {
            continue;
        };
        let context = match (s > 0)
            .then(|| states.sentences[s - 1].as_ref().and_then(|w| w.last()))
            .flatten()
        {
            Some(prev) => {
                let n = prev.dim(0)?;
                let k = n.min(model::CONTEXT_SUBWORDS);
                prev.narrow(0, n - k, k)?
            }
            None => candle_core::Tensor::zeros((0, h), candle_core::DType::F32, &candle_core::Device::Cpu)?,
        };
        // The first cue the author's candidates start at: the same "should" reads differently as
        // advice and as inference.
        let cue_word = cands
            .iter()
            .find(|r| r.speaker == "author")
            .or(cands.first())
            .map(|r| r.cue_token - first_token[s])
            .unwrap_or(0);
        let (_, word_of) = enc.tokenize_words(&words[s])?;
        let cue = word_of
            .iter()
            .position(|&w| w == cue_word)
            .unwrap_or(0)
            .min(sentence.dim(0)?.saturating_sub(1));
        out.insert(
            s,
            model::RecInput {
                context,
                sentence,
                cue,
                rule: classifier::rule_features(doc, &words, s, &cands),
            },
        );
    }
    Ok((out, Some(states)))
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
