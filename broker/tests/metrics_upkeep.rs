//! Metrics memory without scrapes (issue 12, item 16): histogram samples
//! are buffered by the Prometheus recorder until drained, so a broker that
//! nobody scrapes must drain them itself. An in-process broker with its
//! metrics endpoint runs while the test records millions of request
//! timings and never scrapes; the process's resident memory must stop
//! growing once the broker's upkeep has run. (Its own file: the recorder is
//! global to the process and the test measures the process's memory.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::ApiKey;
use memorystreamer_broker::config::{BrokerConfig, LogFormat};
use memorystreamer_broker::{metrics, server, Broker};

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS")
        * 1024
}

/// Records `n` requests' timings (two histogram samples each).
fn record(n: usize) {
    for i in 0..n {
        let d = Duration::from_nanos(i as u64 % 10_000);
        metrics::record_request(ApiKey::ApiVersions, 0, d, d);
    }
}

/// Waits until at least one upkeep pass starts after this call.
fn wait_for_upkeep() {
    let seen = metrics::upkeep_runs();
    let deadline = Instant::now() + metrics::UPKEEP_INTERVAL * 4;
    while metrics::upkeep_runs() < seen + 1 {
        assert!(
            Instant::now() < deadline,
            "no metrics upkeep within {:?}",
            metrics::UPKEEP_INTERVAL * 4
        );
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

#[test]
fn histogram_memory_stays_bounded_without_scrapes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut p = std::collections::BTreeMap::new();
    p.insert(
        "log.dirs".to_string(),
        dir.path().join("data").display().to_string(),
    );
    p.insert(
        "listeners".to_string(),
        "PLAINTEXT://127.0.0.1:0".to_string(),
    );
    let config = BrokerConfig::from_properties(&p, LogFormat::Text).expect("config");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let handle = metrics::install().expect("recorder");
            let metrics_listener = metrics::bind("127.0.0.1:0".parse().expect("addr"), true)
                .await
                .expect("metrics bind");
            let broker = Arc::new(Broker::open(config).await.expect("open"));
            let listeners = server::bind(&broker).await.expect("bind");
            ready_tx.send(()).expect("ready");
            server::run(broker, listeners, Some((handle, metrics_listener)), async {
                let _ = stop_rx.await;
            })
            .await
            .expect("run");
        });
    });
    ready_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("broker started");

    // 4 M requests = 8 M buffered samples (~64 MiB) per round when nothing
    // drains them. Warm up (allocator, handles), then measure three rounds.
    const PER_ROUND: usize = 4_000_000;
    record(PER_ROUND);
    wait_for_upkeep();
    let before = rss_bytes();
    for _ in 0..3 {
        record(PER_ROUND);
        wait_for_upkeep();
    }
    let grown = rss_bytes().saturating_sub(before);
    let _ = stop_tx.send(());
    let _ = thread.join();
    assert!(
        grown < 64 * 1024 * 1024,
        "resident memory grew by {} MiB over three unscraped rounds",
        grown >> 20
    );
}
