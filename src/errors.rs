//! Per-input problems that are recorded in the `errors` table instead of stopping the batch.

/// One row of the `errors` table: which input, at which stage, and a message a scholar understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRecord {
    pub path: String,
    pub stage: &'static str,
    pub message: String,
}

impl ErrorRecord {
    pub fn new(path: impl Into<String>, stage: &'static str, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            stage,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ErrorRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} [{}]: {}", self.path, self.stage, self.message)
    }
}

/// A problem with the run's configuration (a file given to an option such as `--rules`,
/// `--metadata`, `--entities`, `--targets`, `--cues` or `--instruments`) rather than with an input
/// or the machine: the command exits with the usage status (2). Transparent, so messages read the
/// same; [`is_config_error`] finds it under any context added later.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ConfigError(#[from] anyhow::Error);

/// Marks `e` as a configuration error.
pub fn config_error(e: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(ConfigError(e))
}

/// Whether `e` or anything it wraps is a [`ConfigError`].
pub fn is_config_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<ConfigError>())
}
