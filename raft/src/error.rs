//! The metadata crate's single error type.

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
}
