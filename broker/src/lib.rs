//! The MemoryStreamer broker: configuration, listeners, connections,
//! request handlers and partitions. The `memorystreamer` binary is a thin
//! wrapper around [`run`].
//!
//! The broker glues the lower crates together: `memorystreamer-log` stores
//! partitions, `memorystreamer-protocol-kafka` turns bytes into requests and
//! responses into bytes, `memorystreamer-raft` holds cluster metadata. It
//! owns no codec and no storage format itself.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Wall-clock milliseconds since the Unix epoch (Kafka's timestamps).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub mod api;
pub mod authorizer;
pub mod broker;
pub mod config;
pub mod connection;
pub mod context;
pub mod controller;
pub mod coordinator;
pub mod data_dir;
pub mod error;
pub mod group;
pub mod host;
pub mod interbroker;
pub mod internal_topic;
pub mod limits;
pub mod metadata;
pub mod metrics;
pub mod quorum_link;
pub mod replica;
pub mod scrape;
pub mod security;
pub mod server;
pub mod txn;
pub mod util;

use std::sync::Arc;

pub use broker::Broker;
pub use config::{Args, BrokerConfig};
pub use error::BrokerError;

/// Opens the data directory, binds the listeners and serves until SIGTERM
/// or Ctrl-C.
pub async fn run(config: BrokerConfig) -> Result<(), BrokerError> {
    // The recorder must exist before partitions register their counters.
    // The default address may be taken by another node on this host (the
    // README's three-node cluster): it then falls back to a free port. An
    // address the operator chose must be free.
    let explicit = config.props.contains_key("metrics.addr");
    let metrics = match config.metrics_addr {
        Some(addr) => Some((metrics::install()?, metrics::bind(addr, explicit).await?)),
        None => None,
    };
    let broker = Arc::new(Broker::open(config).await?);
    let listeners = server::bind(&broker).await?;
    server::run(broker, listeners, metrics, server::shutdown_signal()).await
}
