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
    /// Written last, when every table is complete: a folder without a manifest saying so holds
    /// a run that did not finish.
    pub completed: bool,
}

/// The manifest of a finished `analyze` run in `results`, or a clear error: what `compare`,
/// `report` and `kwic` read must be a run's complete tables, never those of a killed run.
pub fn read_completed(results: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let path = results.join("manifest.json");
    let manifest: serde_json::Value = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{}: not a readable manifest ({e})", path.display()))?,
        Err(_) => anyhow::bail!(
            "{} has no manifest.json: it is not the output folder of a finished `rhetor analyze` run (a run that was \
             killed or failed leaves none); rerun rhetor analyze",
            results.display()
        ),
    };
    if manifest["completed"] != serde_json::Value::Bool(true) {
        anyhow::bail!(
            "{}: the manifest does not say the run completed (it was killed, failed, or written by an older rhetor); \
             rerun rhetor analyze",
            path.display()
        );
    }
    Ok(manifest)
}
