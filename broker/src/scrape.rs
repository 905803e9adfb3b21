//! The `/metrics` endpoint: sets the state gauges from the broker at scrape
//! time (partitions, offsets, segments, quorum, groups, transactions, lag)
//! and serves the exporter's text with a minimal HTTP/1.1 responder (GET
//! `/metrics` only, one request per connection), which is all a Prometheus
//! scrape needs; it is not a general web server. The recorder and the
//! hot-path handles are `crate::metrics`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use metrics::gauge;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::broker::Broker;

/// Sets the state gauges from the broker's current state (at scrape time).
fn collect(broker: &Broker) {
    let per_topic = broker.config.metrics_topic_labels;
    let mut partitions = 0u64;
    let mut segments_total = 0u64;
    let mut bytes_total = 0u64;
    let mut under_replicated = 0u64;
    for p in broker.replicas.all_partitions() {
        partitions += 1;
        let state = p.replica_state();
        // Kafka's UnderReplicatedPartitions: led here, ISR below replicas.
        if state.role() == crate::replica::partition::Role::Leader
            && state.isr_size() < 1 + state.followers().len()
        {
            under_replicated += 1;
        }
        let (segments, bytes) = p.disk_usage();
        segments_total += segments as u64;
        bytes_total += bytes;
        if per_topic {
            let labels = [
                ("topic", p.topic.clone()),
                ("partition", p.index.to_string()),
            ];
            gauge!("memorystreamer_partition_log_end_offset", &labels)
                .set(p.log_end_offset() as f64);
            gauge!("memorystreamer_partition_high_watermark", &labels)
                .set(p.high_watermark() as f64);
            gauge!("memorystreamer_partition_log_start_offset", &labels)
                .set(p.log_start_offset() as f64);
            gauge!("memorystreamer_partition_segments", &labels).set(segments as f64);
            gauge!("memorystreamer_partition_size_bytes", &labels).set(bytes as f64);
        }
    }
    gauge!("memorystreamer_partitions").set(partitions as f64);
    gauge!("memorystreamer_log_segments").set(segments_total as f64);
    gauge!("memorystreamer_log_size_bytes").set(bytes_total as f64);
    // Under-replicated partitions are counted by their leaders; offline
    // partitions (no leader) and fenced brokers by the active controller
    // only, as Kafka does.
    gauge!("memorystreamer_under_replicated_partitions").set(under_replicated as f64);
    let image = broker.cache.image();
    let quorum = broker.quorum();
    let active = quorum.is_leader();
    let (offline, fenced) = if active {
        let offline = image
            .topics()
            .flat_map(|t| t.partitions.iter())
            .filter(|p| crate::metadata::MetadataCache::effective_leader(&image, p.leader) < 0)
            .count();
        (offline, image.brokers().filter(|b| b.fenced).count())
    } else {
        (0, 0)
    };
    gauge!("memorystreamer_offline_partitions").set(offline as f64);
    gauge!("memorystreamer_fenced_brokers").set(fenced as f64);
    gauge!("memorystreamer_controller_active").set(if active { 1.0 } else { 0.0 });
    gauge!("memorystreamer_raft_leader_id").set(quorum.leader().map_or(-1.0, |l| l as f64));
    gauge!("memorystreamer_raft_last_applied_index")
        .set(quorum.last_applied().map_or(-1.0, |i| i as f64));
    let groups = broker.groups.list();
    let mut by_state: HashMap<&'static str, u64> = HashMap::new();
    for g in &groups {
        *by_state.entry(g.state.name()).or_default() += 1;
    }
    for state in [
        "Empty",
        "PreparingRebalance",
        "CompletingRebalance",
        "Stable",
        "Dead",
    ] {
        gauge!("memorystreamer_consumer_groups", "state" => state)
            .set(by_state.get(state).copied().unwrap_or(0) as f64);
    }
    let txns = broker.txn().count_by_state();
    for state in crate::txn::state::TxnState::ALL {
        gauge!("memorystreamer_transactions", "state" => state.name())
            .set(txns.get(&state).copied().unwrap_or(0) as f64);
    }
    for g in &groups {
        let mut lag = 0i64;
        for ((topic, partition), v) in broker.groups.fetch_offsets(&g.group_id, None) {
            if let (Some(v), Some(p)) = (v, broker.replicas.partition(&topic, partition)) {
                lag += (p.high_watermark() - v.offset).max(0);
            }
        }
        gauge!("memorystreamer_consumer_group_lag", "group" => g.group_id.clone()).set(lag as f64);
    }
}

/// Serves `GET /metrics` on `addr` until shutdown.
pub async fn serve(
    broker: Arc<Broker>,
    listener: TcpListener,
    handle: &'static PrometheusHandle,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let broker = Arc::clone(&broker);
                    tokio::spawn(async move {
                        if let Err(e) = respond(stream, &broker, handle).await {
                            debug!(error = %e, "metrics request failed");
                        }
                    });
                }
                Err(e) => {
                    warn!(error = %e, "metrics accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

async fn respond(
    mut stream: tokio::net::TcpStream,
    broker: &Broker,
    handle: &PrometheusHandle,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 8192];
    let mut len = 0;
    // Read the request head (bounded size and time).
    let head = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let n = stream.read(&mut buf[len..]).await?;
            if n == 0 {
                break;
            }
            len += n;
            if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") || len == buf.len() {
                break;
            }
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
    if head.is_err() {
        return Ok(());
    }
    let request = String::from_utf8_lossy(&buf[..len]);
    let line = request.lines().next().unwrap_or("");
    let (status, content_type, body) = match line.split_whitespace().take(2).collect::<Vec<_>>()[..]
    {
        ["GET", "/metrics"] => {
            collect(broker);
            ("200 OK", "text/plain; version=0.0.4", handle.render())
        }
        ["GET", "/"] => (
            "200 OK",
            "text/plain",
            "MemoryStreamer: metrics at /metrics\n".to_string(),
        ),
        _ => ("404 Not Found", "text/plain", "not found\n".to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
