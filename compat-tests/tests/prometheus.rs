//! A real Prometheus server (Debian's `prometheus`) scrapes the broker with
//! the scrape configuration shipped in `deploy/prometheus/prometheus.yml`,
//! and its query API must show the records-in counter moved by exactly the
//! number of records produced.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use memorystreamer_compat_tests::{free_port, http_get, roundtrip, workspace_root, Broker};

struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn query(port: u16, q: &str) -> Option<String> {
    let encoded: String = q
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    http_get(port, &format!("/api/v1/query?query={encoded}"))
}

#[test]
fn prometheus_scrapes_records_in() {
    let broker = Broker::start(&[]);
    let tmp = tempfile::tempdir().expect("tempdir");
    // The shipped scrape config, pointed at this broker, scraping every second.
    let shipped =
        std::fs::read_to_string(workspace_root().join("deploy/prometheus/prometheus.yml"))
            .expect("deploy/prometheus/prometheus.yml");
    assert!(
        shipped.contains("127.0.0.1:9644"),
        "scrape config should target the default metrics address"
    );
    let config = shipped
        .replace(
            "127.0.0.1:9644",
            &format!("127.0.0.1:{}", broker.metrics_port),
        )
        .replace("scrape_interval: 15s", "scrape_interval: 1s");
    let config_path = tmp.path().join("prometheus.yml");
    std::fs::write(&config_path, config).expect("write config");
    let prom_port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            tmp.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus is installed (scripts/test.sh installs Debian's package)");
    let _prom = Prometheus(child);

    let manifest = tmp.path().join("m.jsonl");
    roundtrip(
        &broker,
        "create",
        "scraped",
        &manifest,
        &["--partitions", "2"],
    );
    let out = roundtrip(
        &broker,
        "produce-confluent",
        "scraped",
        &manifest,
        &["--count", "1234", "--codecs", "lz4", "--partitions", "2"],
    );
    assert!(out.contains("produced 1234 records"), "{out}");

    let q = r#"sum(memorystreamer_topic_records_in_total{topic="scraped"})"#;
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = None;
    loop {
        last = query(prom_port, q).or(last);
        if let Some(body) = &last {
            if body.contains(r#""1234"]"#) {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never saw 1234 records in; last answer: {last:?}\nmetrics: {:?}",
            http_get(broker.metrics_port, "/metrics").map(|m| m
                .lines()
                .filter(|l| l.contains("scraped"))
                .collect::<Vec<_>>()
                .join("\n"))
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // Reading everything once moves records-out by the same amount (counted
    // from what fetches actually returned, not from long-poll re-reads).
    roundtrip(&broker, "consume-confluent", "scraped", &manifest, &[]);
    let metrics = http_get(broker.metrics_port, "/metrics").unwrap_or_default();
    let out: f64 = metrics
        .lines()
        .filter(|l| l.starts_with(r#"memorystreamer_topic_records_out_total{topic="scraped"}"#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(out, 1234.0, "records out after one full read");
    // The target is up and other families are exported under the documented names.
    let up = query(prom_port, r#"up{job="memorystreamer"}"#).unwrap_or_default();
    assert!(up.contains(r#""1"]"#), "{up}");
    let produce = query(
        prom_port,
        r#"sum(memorystreamer_requests_total{api="Produce"})"#,
    )
    .unwrap_or_default();
    assert!(produce.contains("\"value\""), "{produce}");
}

/// Every metric the Grafana dashboard queries is one the broker documents
/// (and so exports): a renamed metric cannot silently blank a panel.
#[test]
fn dashboard_uses_documented_metrics() {
    let root = workspace_root();
    let dash = std::fs::read_to_string(root.join("deploy/grafana/memorystreamer.json"))
        .expect("dashboard");
    let docs = std::fs::read_to_string(root.join("docs/metrics.md")).expect("docs");
    let mut names = std::collections::BTreeSet::new();
    for (i, _) in dash.match_indices("memorystreamer_") {
        let name: String = dash[i..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        let base = ["_bucket", "_count", "_sum"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(&name)
            .to_string();
        names.insert(base);
    }
    assert!(
        names.len() >= 10,
        "dashboard queries too few metrics: {names:?}"
    );
    for n in &names {
        assert!(
            docs.contains(&format!("`{n}`")),
            "dashboard uses {n}, which docs/metrics.md does not document"
        );
    }
}

/// `metrics.topic.labels=false` bounds cardinality: traffic counts under
/// `topic="_all"`, no per-topic or per-partition series.
#[test]
fn topic_labels_can_be_switched_off() {
    let broker = Broker::start(&["-o", "metrics.topic.labels=false"]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let manifest = tmp.path().join("m.jsonl");
    roundtrip(
        &broker,
        "create",
        "unlabelled",
        &manifest,
        &["--partitions", "1"],
    );
    roundtrip(
        &broker,
        "produce-confluent",
        "unlabelled",
        &manifest,
        &["--count", "10", "--codecs", "none", "--partitions", "1"],
    );
    let metrics = http_get(broker.metrics_port, "/metrics").expect("metrics endpoint");
    assert!(
        metrics.lines().any(|l| l
            .starts_with(r#"memorystreamer_topic_records_in_total{topic="_all"} "#)
            && l.ends_with(" 10")),
        "{metrics}"
    );
    assert!(!metrics.contains("unlabelled"), "no series names the topic");
    assert!(!metrics.contains("memorystreamer_partition_log_end_offset"));
}
