//! The Rust `rdkafka` crate (bundled librdkafka) against the real binary:
//! idempotent production with keys and headers to an auto-created topic,
//! consumption from the beginning and from the middle of a batch.

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
