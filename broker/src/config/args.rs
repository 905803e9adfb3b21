//! The command line of the `memorystreamer` binary and how flags,
//! `MEMORYSTREAMER_*` environment variables and the `--config` file combine
//! into Kafka-named properties (then parsed by `super::parse`), with the
//! unknown-key warning. It is NOT the parser of values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Parser;
use tracing::warn;

use super::{keys, parse_properties, BrokerConfig};
use crate::error::BrokerError;

/// Command-line interface of the `memorystreamer` binary.
#[derive(Debug, Parser)]
#[command(
    name = "memorystreamer",
    version,
    about = "A Kafka-compatible message broker",
    long_about = "MemoryStreamer: a message broker that existing Kafka clients use unchanged.\n\n\
        With no arguments it starts a single node with the Kafka protocol on 127.0.0.1:9092 \
        and data under ./data. Settings come from --config (Kafka server.properties format), \
        then MEMORYSTREAMER_* environment variables, then flags (flags win)."
)]
pub struct Args {
    /// A Kafka `server.properties` file (key=value, Kafka key names such as
    /// log.dirs, listeners, num.partitions, auto.create.topics.enable,
    /// log.segment.bytes, message.max.bytes). Unknown keys are reported, not fatal.
    #[arg(long, env = "MEMORYSTREAMER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for all data (`log.dirs`). Default: ./data
    #[arg(long, env = "MEMORYSTREAMER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Comma-separated listeners, e.g. PLAINTEXT://127.0.0.1:9092 (`listeners`).
    #[arg(long, env = "MEMORYSTREAMER_LISTENERS")]
    pub listeners: Option<String>,
    /// Comma-separated addresses given to clients (`advertised.listeners`).
    /// Default: the listeners, with 0.0.0.0 replaced by 127.0.0.1.
    #[arg(long, env = "MEMORYSTREAMER_ADVERTISED_LISTENERS")]
    pub advertised_listeners: Option<String>,
    /// This node's id (`node.id`). Default: 1
    #[arg(long, env = "MEMORYSTREAMER_NODE_ID")]
    pub node_id: Option<i32>,
    /// Any server.properties key, as KEY=VALUE; repeatable; wins over the file.
    #[arg(long = "override", short = 'o', value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Address of the Prometheus endpoint (`/metrics`), or "off"
    /// (`metrics.addr`). Default: 127.0.0.1:9644, or a free port when that
    /// one is taken (another node on this host); a given address must be free.
    #[arg(long, env = "MEMORYSTREAMER_METRICS_ADDR")]
    pub metrics_addr: Option<String>,
    /// Where this node's metadata-quorum (controller) listener binds, as
    /// HOST:PORT (`controller.listener`). Default: 127.0.0.1:0 for a
    /// single node; with voters, this node's address in the voter list.
    #[arg(long, env = "MEMORYSTREAMER_CONTROLLER_LISTENER")]
    pub controller_listener: Option<String>,
    /// The metadata quorum's voters as `id@host:port,...`
    /// (`controller.quorum.voters`). Without it the node is a single-node
    /// cluster of itself.
    #[arg(long, env = "MEMORYSTREAMER_CONTROLLER_QUORUM_VOTERS")]
    pub controller_quorum_voters: Option<String>,
    /// Log output format: text or json. Filter with RUST_LOG (default info).
    #[arg(long, env = "MEMORYSTREAMER_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
}

/// Output format of the broker's own logs.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl BrokerConfig {
    /// Resolves the configuration from parsed arguments (reading `--config`).
    pub fn from_args(args: &Args) -> Result<Self, BrokerError> {
        let mut props = match &args.config {
            Some(path) => load_file(path)?,
            None => BTreeMap::new(),
        };
        for kv in &args.overrides {
            let (k, v) = kv.split_once('=').ok_or_else(|| {
                BrokerError::Config(format!("--override '{kv}': expected KEY=VALUE"))
            })?;
            props.insert(k.trim().to_string(), v.trim().to_string());
        }
        if let Some(d) = &args.data_dir {
            props.insert("log.dirs".into(), d.display().to_string());
        }
        if let Some(l) = &args.listeners {
            props.insert("listeners".into(), l.clone());
        }
        if let Some(l) = &args.advertised_listeners {
            props.insert("advertised.listeners".into(), l.clone());
        }
        if let Some(m) = &args.metrics_addr {
            props.insert("metrics.addr".into(), m.clone());
        }
        if let Some(n) = args.node_id {
            props.insert("node.id".into(), n.to_string());
        }
        if let Some(l) = &args.controller_listener {
            props.insert("controller.listener".into(), l.clone());
        }
        if let Some(v) = &args.controller_quorum_voters {
            props.insert("controller.quorum.voters".into(), v.clone());
        }
        for k in props.keys() {
            if !keys::is_known(k) {
                warn!(key = %k, "unknown or not yet supported configuration key, ignored");
            }
        }
        Self::from_properties(&props, args.log_format)
    }
}

fn load_file(path: &Path) -> Result<BTreeMap<String, String>, BrokerError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        BrokerError::Config(format!("cannot read config file {}: {e}", path.display()))
    })?;
    parse_properties(&text)
}
