//! Cluster metadata for MemoryStreamer, KRaft style: every change is a
//! [`MetadataRecord`], records are appended to a durable log, and the
//! current state is an immutable [`MetadataImage`] built by applying them.
//!
//! Today the log is a single-voter store ([`store::MetadataLog`]); the
//! openraft quorum (multi-node) is the next step and will sit behind the same
//! append/replay boundary. This crate knows nothing about Kafka requests.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod image;
pub mod records;
pub mod store;

pub use error::MetadataError;
pub use image::{MetadataImage, PartitionImage, TopicImage};
pub use records::MetadataRecord;
pub use store::MetadataLog;
