//! Cluster metadata for MemoryStreamer, KRaft style: every change is a
//! [`MetadataRecord`], records are appended to a durable log, and the
//! current state is an immutable [`MetadataImage`] built by applying them.
//! Replica placement and partition leader elections (Kafka's ISR rules,
//! no unclean election) happen while records are applied, so the Raft log
//! serializes them and every node derives the same leaders and epochs.
//!
//! Records are committed through an openraft quorum: the durable Raft log
//! ([`log_store`]), the image as state machine with snapshots
//! ([`state_machine`]), the frames between voters with write forwarding
//! and broker heartbeats ([`network`]) over an injected byte stream
//! ([`transport`]: TCP, or the broker's TLS) and the member facade
//! with broker fencing ([`quorum`]). A single node is a one-voter quorum.
//! The stores pass openraft's conformance suite (`tests/conformance.rs`);
//! three voters on loopback survive losing their leader (`tests/quorum.rs`).
//! [`store::MetadataLog`] is the pre-quorum single-voter file, kept only to
//! import old data directories. This crate knows nothing about Kafka
//! requests.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
mod frame;
pub mod image;
pub mod liveness;
pub mod log_store;
pub mod network;
pub mod quorum;
pub mod records;
pub mod state_machine;
pub mod store;
pub mod transport;
pub mod types;

pub use error::MetadataError;
pub use image::{BrokerImage, MetadataImage, PartitionImage, TopicImage, NO_LEADER};
pub use records::{BrokerEndpoint, MetadataRecord};
pub use store::MetadataLog;
