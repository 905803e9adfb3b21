//! The metadata crate's single error type.

use std::path::{Path, PathBuf};

/// What an operator can do about damaged metadata (part of every
/// [`MetadataError::Damaged`] message).
pub const RECOVERY_HINT: &str = "the metadata log is the cluster's identity (topic ids, producer \
     ids, configs), so the broker refuses to start rather than replace it with an empty one. To \
     recover: restore the data directory from a backup; or, in a multi-node cluster, stop this \
     node and copy __cluster_metadata-0 from a healthy voter; or, to start over losing every \
     topic, offset and producer id, remove the whole data directory";

/// Errors of the metadata log and image.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// File-system failure.
    #[error("metadata log I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A record that does not decode (corruption or a newer format).
    #[error("undecodable metadata record: {0}")]
    Decode(&'static str),
    /// A record that contradicts the image it is applied to.
    #[error("invalid metadata record: {0}")]
    Invalid(String),
    /// A metadata file or directory that is damaged or missing where the
    /// data directory says it must exist. Start-up stops on it.
    #[error("damaged metadata: {}: {problem}; {RECOVERY_HINT}", path.display())]
    Damaged {
        /// The damaged or missing file or directory.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}

impl MetadataError {
    /// A [`MetadataError::Damaged`] for `path`.
    pub fn damaged(path: &Path, problem: impl Into<String>) -> Self {
        MetadataError::Damaged {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }
}
