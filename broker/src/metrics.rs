//! Prometheus metrics: the recorder and lock-free handles for the hot path
//! (a leaf module: anything may record, it imports nothing above `error`).
//! The state gauges computed at scrape time and the `/metrics` HTTP
//! endpoint are in `crate::scrape`.
//!
//! Hot-path recording never takes a lock: per-API request counters and
//! timing histograms, per-error-code counters and per-partition topic
//! counters are handles created once (on first use, or when a partition
//! opens) and only incremented afterwards (atomics inside the exporter). Gauges
//! that describe state (offsets, segments, groups, lag) are computed when
//! Prometheus scrapes, so they cost nothing between scrapes.
//!
//! Histogram samples are buffered inside the exporter until drained into
//! their buckets; [`upkeep`] drains them every [`UPKEEP_INTERVAL`] (the
//! exporter's own default period), so memory stays bounded whether or not
//! anyone scrapes.
//!
//! The endpoint is a minimal HTTP/1.1 responder (GET `/metrics` only, one
//! request per connection), which is all a Prometheus scrape needs; it is
//! not a general web server. Metric names are documented in
//! `docs/metrics.md`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use metrics::{counter, gauge, histogram, Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::warn;

use crate::error::BrokerError;

/// Latency buckets (seconds) for every `_seconds` histogram: 10 µs to 10 s.
const BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
static UPKEEPS: AtomicU64 = AtomicU64::new(0);

/// How often [`upkeep`] drains buffered histogram samples.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);
static TABLES: OnceLock<Tables> = OnceLock::new();

/// Hot-path handles. Keys are fixed at start-up (read-only maps); each
/// handle registers on first use (the only time the exporter's registry is
/// touched) so that series that never happen are not exported as zeros.
struct Tables {
    requests: HashMap<(i16, i16), Lazy<Counter>>,
    queue: HashMap<i16, Lazy<Histogram>>,
    processing: HashMap<i16, Lazy<Histogram>>,
    produce_errors: HashMap<i16, Lazy<Counter>>,
    fetch_errors: HashMap<i16, Lazy<Counter>>,
    connections_total: Counter,
    flush: Histogram,
}

/// A handle created on first use, lock-free afterwards.
struct Lazy<T> {
    cell: OnceLock<T>,
    make: Box<dyn Fn() -> T + Send + Sync>,
}

impl<T> Lazy<T> {
    fn new(make: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Lazy {
            cell: OnceLock::new(),
            make: Box::new(make),
        }
    }
    fn get(&self) -> &T {
        self.cell.get_or_init(|| (self.make)())
    }
}

fn api_name(key: ApiKey) -> String {
    format!("{key:?}")
}

fn tables() -> &'static Tables {
    TABLES.get_or_init(|| {
        let mut requests = HashMap::new();
        let mut queue = HashMap::new();
        let mut processing = HashMap::new();
        // Every API key and version Kafka defines: handles register on
        // first use, so only those requested are ever exported, and this
        // module needs nothing from the request handlers.
        for api_key in ApiKey::iter() {
            let name = api_name(api_key);
            let versions = api_key.valid_versions();
            for v in versions.min..=versions.max {
                let n = name.clone();
                requests.insert(
                    (api_key as i16, v),
                    Lazy::new(move || counter!("memorystreamer_requests_total", "api" => n.clone(), "version" => v.to_string())),
                );
            }
            let n = name.clone();
            queue.insert(api_key as i16, Lazy::new(move || histogram!("memorystreamer_request_queue_seconds", "api" => n.clone())));
            processing.insert(
                api_key as i16,
                Lazy::new(move || histogram!("memorystreamer_request_processing_seconds", "api" => name.clone())),
            );
        }
        let codes = -1..=130i16;
        Tables {
            requests,
            queue,
            processing,
            produce_errors: codes
                .clone()
                .map(|c| (c, Lazy::new(move || counter!("memorystreamer_produce_errors_total", "code" => c.to_string()))))
                .collect(),
            fetch_errors: codes
                .map(|c| (c, Lazy::new(move || counter!("memorystreamer_fetch_errors_total", "code" => c.to_string()))))
                .collect(),
            connections_total: counter!("memorystreamer_connections_total"),
            flush: histogram!("memorystreamer_log_flush_seconds"),
        }
    })
}

/// Installs the Prometheus recorder (once per process) and registers the
/// hot-path handles.
pub fn install() -> Result<&'static PrometheusHandle, BrokerError> {
    if let Some(h) = HANDLE.get() {
        return Ok(h);
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
        .map_err(|e| BrokerError::Config(format!("metrics buckets: {e}")))?
        // State gauges are re-set at every scrape; those of deleted topics
        // or groups disappear after this long.
        .idle_timeout(
            metrics_util::MetricKindMask::GAUGE,
            Some(Duration::from_secs(300)),
        )
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)
        .map_err(|e| BrokerError::Config(format!("cannot install the metrics recorder: {e}")))?;
    let h = HANDLE.get_or_init(|| handle);
    tables();
    Ok(h)
}

/// Counts one request of `api` at `version` and records its timings.
pub fn record_request(api: ApiKey, version: i16, queue: Duration, processing: Duration) {
    let t = tables();
    let key = api as i16;
    if let Some(c) = t.requests.get(&(key, version)) {
        c.get().increment(1);
    }
    if let Some(h) = t.queue.get(&key) {
        h.get().record(queue.as_secs_f64());
    }
    if let Some(h) = t.processing.get(&key) {
        h.get().record(processing.as_secs_f64());
    }
}

/// Counts a produce error by Kafka error code.
pub fn produce_error(code: i16) {
    if let Some(c) = tables().produce_errors.get(&code) {
        c.get().increment(1);
    }
}

/// Counts a fetch error by Kafka error code.
pub fn fetch_error(code: i16) {
    if let Some(c) = tables().fetch_errors.get(&code) {
        c.get().increment(1);
    }
}

/// Records a log flush (fsync) duration.
pub fn log_flush(d: Duration) {
    tables().flush.record(d.as_secs_f64());
}

/// Counts a transaction marker written to a local partition (cold path:
/// one per partition per transaction end).
pub fn txn_marker(commit: bool) {
    counter!(
        "memorystreamer_txn_markers_written_total",
        "result" => if commit { "commit" } else { "abort" }
    )
    .increment(1);
}

/// Counts a failed authentication on `listener` (Kafka's
/// `failed-authentication-total`).
pub fn failed_authentication(listener: &str) {
    counter!("memorystreamer_failed_authentication_total", "listener" => listener.to_string())
        .increment(1);
}

/// Counts a KIP-368 re-authentication that succeeded on `listener` (Kafka's
/// `successful-reauthentication-total`).
pub fn successful_reauthentication(listener: &str) {
    counter!("memorystreamer_successful_reauthentication_total", "listener" => listener.to_string())
        .increment(1);
}

/// Counts a connection closed on `listener` because its authenticated
/// session ended without a re-authentication (KIP-368).
pub fn expired_session_closed(listener: &str) {
    counter!("memorystreamer_expired_session_closes_total", "listener" => listener.to_string())
        .increment(1);
}

/// Counts a transaction aborted by its coordinator for exceeding
/// `transaction.timeout.ms`.
pub fn txn_timed_out() {
    counter!("memorystreamer_txn_timed_out_total").increment(1);
}

/// Records one compaction pass (cold path: a few per minute at most).
pub fn cleaner_pass(st: &memorystreamer_log::CleanStats) {
    counter!("memorystreamer_log_cleaner_passes_total").increment(1);
    counter!("memorystreamer_log_cleaner_records_removed_total").increment(st.records_removed);
    counter!("memorystreamer_log_cleaner_bytes_read_total").increment(st.bytes_in);
    counter!("memorystreamer_log_cleaner_bytes_written_total").increment(st.bytes_out);
}

/// Counts a compaction pass that failed (the log is left as it was).
pub fn cleaner_error() {
    counter!("memorystreamer_log_cleaner_errors_total").increment(1);
}

/// Tracks one open connection (a gauge up while the guard lives).
pub struct ConnectionGuard;

impl ConnectionGuard {
    /// Counts a new connection.
    pub fn open() -> Self {
        tables().connections_total.increment(1);
        gauge!("memorystreamer_connections_active").increment(1.0);
        ConnectionGuard
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        gauge!("memorystreamer_connections_active").decrement(1.0);
    }
}

/// Per-partition traffic counters, labelled by topic unless per-topic
/// labels are switched off (`metrics.topic.labels=false`, for clusters with
/// very many topics), in which case every topic counts under `topic="_all"`.
#[derive(Clone)]
pub struct TopicMetrics {
    /// Bytes appended.
    pub bytes_in: Counter,
    /// Records appended.
    pub records_in: Counter,
    /// Bytes returned by fetches.
    pub bytes_out: Counter,
    /// Records returned by fetches.
    pub records_out: Counter,
}

impl TopicMetrics {
    /// Handles for `topic`.
    pub fn new(topic: &str, per_topic: bool) -> Self {
        let t = if per_topic {
            topic.to_string()
        } else {
            "_all".to_string()
        };
        TopicMetrics {
            bytes_in: counter!("memorystreamer_topic_bytes_in_total", "topic" => t.clone()),
            records_in: counter!("memorystreamer_topic_records_in_total", "topic" => t.clone()),
            bytes_out: counter!("memorystreamer_topic_bytes_out_total", "topic" => t.clone()),
            records_out: counter!("memorystreamer_topic_records_out_total", "topic" => t),
        }
    }
}

/// Runs the recorder's upkeep (drains buffered histogram samples into
/// their buckets) every [`UPKEEP_INTERVAL`] until shutdown. Without it the
/// samples recorded between scrapes are all kept in memory.
pub async fn upkeep(handle: &'static PrometheusHandle, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                handle.run_upkeep();
                UPKEEPS.fetch_add(1, Ordering::Relaxed);
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// How many upkeep passes have run in this process.
pub fn upkeep_runs() -> u64 {
    UPKEEPS.load(Ordering::Relaxed)
}

/// Binds the metrics listener. When `addr` is only the default (not set
/// by the operator) and is taken, e.g. by another node on the same host,
/// the metrics are served on a free port of the same IP instead, with a
/// warning naming it; an address set explicitly must be free.
pub async fn bind(addr: SocketAddr, explicit: bool) -> Result<TcpListener, BrokerError> {
    match TcpListener::bind(addr).await {
        Ok(l) => Ok(l),
        Err(e) if !explicit && e.kind() == std::io::ErrorKind::AddrInUse => {
            let fallback = SocketAddr::new(addr.ip(), 0);
            let l = TcpListener::bind(fallback).await.map_err(|e| {
                BrokerError::Config(format!("cannot listen for metrics on {fallback}: {e}"))
            })?;
            let actual = l.local_addr()?;
            warn!(
                default = %addr,
                %actual,
                "the default metrics address is in use (another node on this host?); serving \
                 metrics on {actual} instead: set metrics.addr (--metrics-addr) to choose it"
            );
            Ok(l)
        }
        Err(e) => Err(BrokerError::Config(format!(
            "cannot listen for metrics on {addr}: {e} (set metrics.addr / --metrics-addr \
             to another HOST:PORT, or off)"
        ))),
    }
}
