//! `manifest.json`: provenance for a run (rhetor version, command line, configuration, times,
//! every input's sha256, models, outputs).

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct InputEntry {
    pub path: String,
    pub sha256: Option<String>,
    pub bytes: u64,
    pub documents: usize,
    pub errors: usize,
    /// Archive records that are not documents (WARC requests, metadata, non-HTML responses).
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped_records: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelEntry {
    pub id: String,
    pub sha256: String,
    pub files: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub rhetor_version: String,
    pub command_line: Vec<String>,
    /// Everything that changes what the tables say.
    pub configuration: BTreeMap<String, serde_json::Value>,
    pub started_at: String,
    pub finished_at: String,
    pub seconds: f64,
    pub counts: BTreeMap<String, usize>,
    pub inputs: Vec<InputEntry>,
    pub models: Vec<ModelEntry>,
    pub outputs: Vec<String>,
}
