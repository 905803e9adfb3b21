//! The Rust `rdkafka` crate (bundled librdkafka) against the real binary:
//! idempotent production with keys and headers to an auto-created topic,
//! consumption from the beginning and from the middle of a batch; a
//! transactional producer committing, aborting and committing, read back with
//! `read_committed` (committed records only) and `read_uncommitted` (all).

use std::time::Duration;

use memorystreamer_compat_tests::Broker;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

fn consume(
    bootstrap: &str,
    topic: &str,
    partition: i32,
    from: i64,
    want: usize,
) -> Vec<(i64, String, String, String)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "rdkafka-assign")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(from))
        .expect("offset");
    consumer.assign(&tpl).expect("assign");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut out = Vec::new();
    while out.len() < want {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out with {} of {want}",
            out.len()
        );
        if let Some(m) = consumer.poll(Duration::from_millis(500)) {
            let m = m.expect("message");
            let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
            let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
            let header = m
                .headers()
                .and_then(|h| {
                    h.iter()
                        .next()
                        .map(|h| String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned())
                })
                .unwrap_or_default();
            out.push((m.offset(), key, value, header));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdkafka_idempotent_produce_and_consume() {
    let broker = Broker::start(&["-o", "num.partitions=2"]);
    let bootstrap = broker.bootstrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("enable.idempotence", "true")
        .set("compression.type", "lz4")
        .set("linger.ms", "2")
        .create()
        .expect("producer");
    let topic = "rust-auto";
    let mut acked = Vec::new();
    for i in 0..1000 {
        let key = format!("key-{i}");
        let value = format!("value-{i}");
        let hv = format!("h{i}");
        let rec = FutureRecord::to(topic)
            .partition(i % 2)
            .key(&key)
            .payload(&value)
            .headers(OwnedHeaders::new().insert(Header {
                key: "n",
                value: Some(&hv),
            }));
        let delivery = producer.send(rec, Duration::from_secs(30)).await;
        let delivered = delivery.unwrap_or_else(|(e, _)| panic!("delivery failed: {e}"));
        acked.push((delivered.partition, delivered.offset, key, value, hv));
    }
    let expected: Vec<_> = acked
        .iter()
        .filter(|a| a.0 == 1)
        .map(|a| (a.1, a.2.clone(), a.3.clone(), a.4.clone()))
        .collect();
    assert_eq!(expected.len(), 500);
    assert_eq!(expected.first().map(|e| e.0), Some(0));
    let bs = bootstrap.clone();
    let got = tokio::task::spawn_blocking(move || consume(&bs, topic, 1, 0, 500))
        .await
        .expect("consume task");
    assert_eq!(got, expected);
    // From an offset inside a batch: the consumer starts exactly there.
    let bs = bootstrap.clone();
    let mid = tokio::task::spawn_blocking(move || consume(&bs, topic, 1, 251, 10))
        .await
        .expect("consume task");
    assert_eq!(mid[0], expected[251]);
}

/// Every value a `read_committed` or `read_uncommitted` consumer reads from
/// partition 0 of `topic` up to its end (`end` = high watermark).
fn read_values(bootstrap: &str, topic: &str, isolation: &str, end: i64) -> Vec<String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "rdkafka-txn-reader")
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("offset");
    consumer.assign(&tpl).expect("assign");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut out = Vec::new();
    loop {
        let position = consumer
            .position()
            .ok()
            .and_then(|p| p.find_partition(topic, 0).and_then(|e| e.offset().to_raw()));
        if position.is_some_and(|p| p >= end) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{isolation}: position {position:?} never reached {end}; read {out:?}"
        );
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.expect("message");
            out.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdkafka_transactions_commit_and_abort() {
    use rdkafka::producer::Producer;
    let broker = Broker::start(&["-o", "num.partitions=1"]);
    let bootstrap = broker.bootstrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("transactional.id", "rust-txn")
        .create()
        .expect("producer");
    let topic = "rust-txn";
    let timeout = Duration::from_secs(30);
    producer.init_transactions(timeout).expect("init");
    for (round, commit) in [(1, true), (2, false), (3, true)] {
        producer.begin_transaction().expect("begin");
        for i in 0..5 {
            let value = format!("r{round}-{i}");
            let rec = FutureRecord::<(), _>::to(topic)
                .partition(0)
                .payload(&value);
            producer
                .send(rec, timeout)
                .await
                .unwrap_or_else(|(e, _)| panic!("delivery failed: {e}"));
        }
        if commit {
            producer.commit_transaction(timeout).expect("commit");
        } else {
            producer.abort_transaction(timeout).expect("abort");
        }
    }
    // 15 records and three markers.
    let end = 18;
    let bs = bootstrap.clone();
    let committed =
        tokio::task::spawn_blocking(move || read_values(&bs, topic, "read_committed", end))
            .await
            .expect("reader");
    let want: Vec<String> = [1, 3]
        .iter()
        .flat_map(|r| (0..5).map(move |i| format!("r{r}-{i}")))
        .collect();
    assert_eq!(committed, want);
    let bs = bootstrap.clone();
    let all = tokio::task::spawn_blocking(move || read_values(&bs, topic, "read_uncommitted", end))
        .await
        .expect("reader");
    assert_eq!(all.len(), 15, "{all:?}");
}
