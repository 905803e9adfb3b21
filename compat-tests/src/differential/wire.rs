//! A minimal blocking Kafka wire client for black-box tests: encodes one
//! `kafka-protocol` request with its header, sends it as a frame, and
//! decodes the response, or sends bytes exactly as given so malformed
//! requests can be tried. It speaks to any broker (ours or Apache Kafka).
//!
//! It is not a Kafka client: no metadata cache, no retries, no pipelining
//! beyond what a test writes itself. Every read is bounded by a socket
//! timeout, and a closed connection is an answer ([`Answer::Closed`]),
//! not a panic.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// How long a test waits for one response before it calls the broker stuck.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to a broker on loopback.
pub struct WireClient {
    stream: TcpStream,
    next_id: i32,
    client_id: String,
}

/// What came back for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<T> {
    /// A decoded response.
    Response(T),
    /// The broker closed the connection instead of answering.
    Closed,
}

impl<T> Answer<T> {
    /// The response; panics (test code) when the connection was closed.
    pub fn expect_response(self, what: &str) -> T {
        match self {
            Answer::Response(r) => r,
            Answer::Closed => panic!("{what}: the broker closed the connection"),
        }
    }
}

impl WireClient {
    /// Connects to 127.0.0.1:`port` with client id `client_id`.
    pub fn connect(port: u16, client_id: &str) -> std::io::Result<WireClient> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(WireClient {
            stream,
            next_id: 1,
            client_id: client_id.to_string(),
        })
    }

    /// Changes the socket read timeout (for probes that must give up fast).
    pub fn set_read_timeout(&mut self, t: Duration) -> std::io::Result<()> {
        self.stream.set_read_timeout(Some(t))
    }

    /// Writes `bytes` as they are (a whole frame, length prefix included).
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Encodes and sends one request; returns its correlation id.
    pub fn send<T: Encodable + HeaderVersion>(
        &mut self,
        key: ApiKey,
        version: i16,
        body: &T,
    ) -> std::io::Result<i32> {
        let frame = self.frame(key, version, body);
        self.send_raw(&frame)?;
        Ok(self.next_id - 1)
    }

    /// The bytes of a request frame (length prefix, header, body), using the
    /// next correlation id.
    pub fn frame<T: Encodable + HeaderVersion>(
        &mut self,
        key: ApiKey,
        version: i16,
        body: &T,
    ) -> Vec<u8> {
        let id = self.next_id;
        self.next_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(id)
            .with_client_id(Some(StrBytes::from_string(self.client_id.clone())));
        let mut buf = BytesMut::new();
        header
            .encode(&mut buf, T::header_version(version))
            .expect("encode request header");
        body.encode(&mut buf, version).expect("encode request body");
        let mut frame = (buf.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(&buf);
        frame
    }

    /// Reads one response frame; `None` when the connection closed (or the
    /// read timed out).
    pub fn read_frame(&mut self) -> Option<Bytes> {
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).ok()?;
        let len = i32::from_be_bytes(len);
        if !(0..=256 * 1024 * 1024).contains(&len) {
            return None;
        }
        let mut body = vec![0u8; len as usize];
        self.stream.read_exact(&mut body).ok()?;
        Some(Bytes::from(body))
    }

    /// Reads and decodes the response to request `id`.
    pub fn recv<T: Decodable + HeaderVersion>(&mut self, version: i16, id: i32) -> Answer<T> {
        let Some(mut frame) = self.read_frame() else {
            return Answer::Closed;
        };
        let header = ResponseHeader::decode(&mut frame, T::header_version(version))
            .expect("decode response header");
        assert_eq!(header.correlation_id, id, "correlation id");
        Answer::Response(T::decode(&mut frame, version).expect("decode response body"))
    }

    /// Sends a request and waits for its response.
    pub fn call<Req, Resp>(&mut self, key: ApiKey, version: i16, body: &Req) -> Answer<Resp>
    where
        Req: Encodable + HeaderVersion,
        Resp: Decodable + HeaderVersion,
    {
        match self.send(key, version, body) {
            Ok(id) => self.recv(version, id),
            Err(_) => Answer::Closed,
        }
    }
}

/// A topic name.
pub fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// A string for a request field.
pub fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// Who writes a batch: the idempotent/transactional producer fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerFields {
    /// Producer id (-1: none).
    pub producer_id: i64,
    /// Producer epoch (-1: none).
    pub producer_epoch: i16,
    /// Sequence of the first record (-1: none).
    pub base_sequence: i32,
    /// Whether the batch belongs to a transaction.
    pub transactional: bool,
}

impl ProducerFields {
    /// A batch without a producer (plain, non-idempotent).
    pub const NONE: ProducerFields = ProducerFields {
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        transactional: false,
    };
}

/// One record: key, value, timestamp.
pub type RecordSpec<'a> = (Option<&'a [u8]>, &'a [u8], i64);

/// An uncompressed v2 record batch with the given records and producer
/// fields (CreateTime timestamps as given).
pub fn record_batch(records: &[RecordSpec<'_>], producer: ProducerFields) -> Bytes {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (key, value, ts))| Record {
            transactional: producer.transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: producer.producer_id,
            producer_epoch: producer.producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder keeps records in one batch while offset - sequence
            // is constant, and takes the first record's sequence as the
            // batch's base sequence.
            sequence: if producer.base_sequence >= 0 {
                producer.base_sequence + i as i32
            } else {
                i as i32 - 1
            },
            timestamp: *ts,
            key: key.map(Bytes::copy_from_slice),
            value: Some(Bytes::copy_from_slice(value)),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode record batch");
    buf.freeze()
}
