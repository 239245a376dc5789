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
