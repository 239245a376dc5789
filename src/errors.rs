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
