//! The analysis pipeline: components that each declare which document layers they read and write,
//! run in order over every document. A pipeline whose component reads a layer no earlier component
//! wrote is rejected when it is built, not halfway through a batch.

use crate::document::{Document, Layer};
use crate::errors::ErrorRecord;

/// One stage of analysis over a [`Document`].
pub trait Component: Send + Sync {
    /// Short name, used as the `stage` of error rows.
    fn name(&self) -> &'static str;
    /// Layers this component needs.
    fn reads(&self) -> &'static [Layer];
    /// Layers this component fills in.
    fn writes(&self) -> &'static [Layer];
    fn process(&self, doc: &mut Document) -> anyhow::Result<()>;
}

pub struct Pipeline {
    components: Vec<Box<dyn Component>>,
}

impl Pipeline {
    /// Checks that every layer a component reads is the text or written by an earlier component.
    pub fn new(components: Vec<Box<dyn Component>>) -> anyhow::Result<Self> {
        let mut available = vec![Layer::Text];
        for c in &components {
            if let Some(missing) = c.reads().iter().find(|l| !available.contains(l)) {
                anyhow::bail!(
                    "pipeline component '{}' reads {:?}, which no earlier component writes",
                    c.name(),
                    missing
                );
            }
            available.extend_from_slice(c.writes());
        }
        Ok(Self { components })
    }

    /// The default pipeline of `rhetor analyze`.
    pub fn standard() -> Self {
        Self::new(vec![
            Box::new(crate::text::SentenceSegmenter),
            Box::new(crate::text::WordTokenizer),
        ])
        .expect("the standard pipeline is well-formed")
    }

    pub fn component_names(&self) -> Vec<&'static str> {
        self.components.iter().map(|c| c.name()).collect()
    }

    /// Runs every component; a failing component is recorded and the later ones still run on what
    /// the document has, so one bad stage never loses the document.
    pub fn run(&self, doc: &mut Document) -> Vec<ErrorRecord> {
        let mut errors = Vec::new();
        for c in &self.components {
            if let Err(e) = c.process(doc) {
                errors.push(ErrorRecord::new(
                    doc.path.clone(),
                    c.name(),
                    format!("{}: {e:#}", doc.doc_id),
                ));
            }
        }
        // Encoder states are large and only shared between model stages.
        doc.states = None;
        errors
    }
}
