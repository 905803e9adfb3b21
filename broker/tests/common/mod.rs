//! Helpers shared by the wire-level test files: an in-process broker on a
//! free loopback port and a minimal blocking Kafka client that speaks raw
//! requests. Each test file includes it with `mod common;` and uses what it
//! needs.
#![allow(dead_code)]

pub mod cluster;
#[allow(unused_imports)]
pub use cluster::*;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use memorystreamer_broker::config::{BrokerConfig, LogFormat};
use memorystreamer_broker::{server, Broker};

/// True when 127.0.0.1:`port` answers a plaintext ApiVersions v0 (a
/// broker process is up there and speaks plaintext Kafka).
pub fn answers_kafka(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut frame = 10i32.to_be_bytes().to_vec();
    frame.extend_from_slice(&18i16.to_be_bytes());
    frame.extend_from_slice(&0i16.to_be_bytes());
    frame.extend_from_slice(&7i32.to_be_bytes());
    frame.extend_from_slice(&(-1i16).to_be_bytes());
    let mut head = [0u8; 8];
    s.write_all(&frame).is_ok()
        && s.read_exact(&mut head).is_ok()
        && head[4..8] == 7i32.to_be_bytes()
}

/// An in-process broker on a free port, stopped when dropped.
/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

pub struct TestBroker {
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The data directory (`log.dirs`).
    pub data: std::path::PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl TestBroker {
    pub fn start(props: &[(&str, &str)]) -> TestBroker {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut b = TestBroker::start_at(&dir.path().join("data"), props);
        b._dir = Some(dir);
        b
    }

    /// A broker on the data directory `data` (kept when it stops, so a
    /// test can restart on it).
    pub fn start_at(data: &std::path::Path, props: &[(&str, &str)]) -> TestBroker {
        let mut p = std::collections::BTreeMap::new();
        p.insert("log.dirs".to_string(), data.display().to_string());
        p.insert(
            "listeners".to_string(),
            "PLAINTEXT://127.0.0.1:0".to_string(),
        );
        for (k, v) in props {
            p.insert(k.to_string(), v.to_string());
        }
        let mut config = BrokerConfig::from_properties(&p, LogFormat::Text).expect("config");
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                // Bind first so the advertised port is the real one.
                let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                let port = listener.local_addr().expect("addr").port();
                drop(listener);
                config.listeners[0].port = port;
                config.advertised_listeners[0].port = port;
                let broker = Arc::new(Broker::open(config).await.expect("open"));
                let listeners = server::bind(&broker).await.expect("bind");
                port_tx.send(port).expect("send port");
                server::run(broker, listeners, None, async {
                    let _ = stop_rx.await;
                })
                .await
                .expect("run");
            });
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("broker started");
        TestBroker {
            port,
            stop: Some(stop_tx),
            thread: Some(thread),
            data: data.to_path_buf(),
            _dir: None,
        }
    }

    pub fn connect(&self) -> Client {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Client { s, next_id: 1 }
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Client {
    /// A client of a broker listening on 127.0.0.1:`port`.
    pub fn connect_to(port: u16) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Client { s, next_id: 1 }
    }
}

pub struct Client {
    /// The connection.
    pub s: TcpStream,
    /// The next correlation id.
    pub next_id: i32,
}

impl Client {
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("write");
    }

    pub fn send<T: Encodable + HeaderVersion>(
        &mut self,
        key: ApiKey,
        version: i16,
        body: &T,
    ) -> i32 {
        let id = self.next_id;
        self.next_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(id)
            .with_client_id(Some(StrBytes::from_static_str("wire-test")));
        let mut buf = BytesMut::new();
        header
            .encode(&mut buf, T::header_version(version))
            .expect("header");
        body.encode(&mut buf, version).expect("body");
        let mut frame = (buf.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(&buf);
        self.send_raw(&frame);
        id
    }

    /// Reads one response frame; None when the broker closed the connection.
    pub fn read_frame(&mut self) -> Option<Bytes> {
        let mut len = [0u8; 4];
        if self.s.read_exact(&mut len).is_err() {
            return None;
        }
        let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
        self.s.read_exact(&mut body).ok()?;
        Some(Bytes::from(body))
    }

    pub fn recv<T: Decodable + HeaderVersion>(&mut self, version: i16, id: i32) -> T {
        let mut frame = self.read_frame().expect("response");
        let header = ResponseHeader::decode(&mut frame, T::header_version(version))
            .expect("response header");
        assert_eq!(header.correlation_id, id);
        T::decode(&mut frame, version).expect("response body")
    }

    pub fn call<Req: Encodable + HeaderVersion, Resp: Decodable + HeaderVersion>(
        &mut self,
        key: ApiKey,
        version: i16,
        body: &Req,
    ) -> Resp {
        let id = self.send(key, version, body);
        self.recv(version, id)
    }

    pub fn is_closed(&mut self) -> bool {
        self.read_frame().is_none()
    }
}

pub fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

pub fn create_topic(c: &mut Client, name: &str, partitions: i32) -> CreateTopicsResponse {
    let req = CreateTopicsRequest::default().with_topics(vec![
        create_topics_request::CreatableTopic::default()
            .with_name(topic_name(name))
            .with_num_partitions(partitions)
            .with_replication_factor(1),
    ]);
    c.call(ApiKey::CreateTopics, 7, &req)
}

pub fn batch(values: &[&str], producer_id: i64, seq: i32, compression: Compression) -> Bytes {
    batch_at(values, producer_id, seq, compression, 1_000)
}

/// A batch whose records carry timestamps `base_ts`, `base_ts + 1`, ...
pub fn batch_at(
    values: &[&str],
    producer_id: i64,
    seq: i32,
    compression: Compression,
    base_ts: i64,
) -> Bytes {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id,
            producer_epoch: if producer_id >= 0 { 0 } else { -1 },
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder keeps records in one batch while offset - sequence
            // is constant; without a producer id the batch's base sequence
            // (the first record's) must be -1.
            sequence: if producer_id >= 0 {
                seq + i as i32
            } else {
                i as i32 - 1
            },
            timestamp: base_ts + i as i64,
            key: None,
            value: Some(Bytes::from(v.to_string())),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .expect("encode");
    buf.freeze()
}

pub fn produce_req(topic: &str, partition: i32, records: Bytes, acks: i16) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![produce_request::TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(partition)
                    .with_records(Some(records)),
            ])])
}

pub fn produce(
    c: &mut Client,
    topic: &str,
    records: Bytes,
) -> produce_response::PartitionProduceResponse {
    let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &produce_req(topic, 0, records, -1));
    resp.responses[0].partition_responses[0].clone()
}

pub fn fetch_req(
    topic: &str,
    offset: i64,
    max_wait_ms: i32,
    min_bytes: i32,
    max_bytes: i32,
) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(max_bytes)
        .with_session_epoch(-1)
        .with_topics(vec![fetch_request::FetchTopic::default()
            .with_topic(topic_name(topic))
            .with_partitions(vec![fetch_request::FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(max_bytes)])])
}
