//! The MemoryStreamer segment log.
//!
//! A partition is a directory of segments in Kafka's on-disk layout
//! (`<20-digit base offset>.log` / `.index` / `.timeindex`), holding
//! RecordBatch v2 batches exactly as producers sent them except for the base
//! offset and partition leader epoch. This crate knows nothing of Kafka
//! requests, topics or the network: it appends, reads, indexes and recovers.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod batch;
pub mod cleaner;
pub mod codec;
pub mod epoch;
pub mod error;
pub mod index;
mod log;
#[allow(unsafe_code)]
mod mmap;
pub mod producer_state;
pub mod read;
pub mod records;
mod recovery;
mod replication;
pub mod segment;
pub mod txn;

pub use crate::batch::BatchHeader;
pub use crate::cleaner::{compact, CleanStats, CompactionConfig};
pub use crate::error::{LogError, Result};
pub use crate::log::{AppendInfo, FlushPlan, Log, LogConfig, Removed};
pub use crate::producer_state::ProducerInfo;
pub use crate::read::{MaxTimestampPlan, ReadPlan};
pub use crate::segment::FileSlice;
pub use crate::txn::{AbortedTxn, ControlType};
