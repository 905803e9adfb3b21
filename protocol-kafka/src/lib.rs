//! Kafka wire protocol for MemoryStreamer: framing, request headers and
//! bodies, response encoding, the supported-version table and RecordBatch v2
//! validation. Message structs come from the `kafka-protocol` crate.
//!
//! This crate is a pure codec: no sockets, no async runtime, no broker
//! state. The broker reads bytes, hands frames here and writes back what this
//! crate encodes.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod frame;
pub mod records;
pub mod request;
pub mod response;
pub mod versions;

pub use error::ProtocolError;
pub use kafka_protocol;
