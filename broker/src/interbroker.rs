//! A minimal Kafka-protocol client for broker-to-broker requests: the
//! transaction coordinator sending WriteTxnMarkers to partition leaders and
//! partition leaders asking a remote coordinator to verify a transactional
//! produce (AddPartitionsToTxn v4+, `verify_only`).
//!
//! [`call`] opens one connection per call: these requests are rare (one per
//! transaction end or per first batch of a transaction in a partition), so a
//! pool is not worth its failure modes yet. Replica fetchers keep a
//! [`PeerConnection`] open to their leader instead. Every call is bounded by a deadline. Not
//! here: SASL/TLS towards peers (the listener security of issue 8 will
//! decide how brokers authenticate each other).

use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::BrokerError;

/// The client id of every inter-broker request (a node receiving one knows
/// another node sent it, e.g. not to forward it again).
pub const CLIENT_ID: &str = "memorystreamer-broker";

/// Upper bound on a peer's response frame.
const MAX_RESPONSE: usize = 64 << 20;

/// Sends one request to `host:port` and decodes its response, within
/// `timeout`.
pub async fn call<Req: Encodable, Resp: Decodable>(
    host: &str,
    port: i32,
    api_key: ApiKey,
    version: i16,
    request: &Req,
    timeout: Duration,
) -> Result<Resp, BrokerError> {
    tokio::time::timeout(timeout, call_inner(host, port, api_key, version, request))
        .await
        .map_err(|_| {
            BrokerError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("{api_key:?} to {host}:{port} timed out"),
            ))
        })?
}

fn encode_error(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::InvalidRequest(format!("cannot encode inter-broker request: {e}"))
}

fn decode_error(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("undecodable inter-broker response: {e}"),
    ))
}

async fn call_inner<Req: Encodable, Resp: Decodable>(
    host: &str,
    port: i32,
    api_key: ApiKey,
    version: i16,
    request: &Req,
) -> Result<Resp, BrokerError> {
    let mut conn = PeerConnection::connect(host, port).await?;
    conn.exchange(api_key, version, request).await
}

/// A long-lived connection to another broker (a follower's fetch session
/// with its leader): requests are sent one at a time, each answered before
/// the next, with increasing correlation ids. Not thread-safe by design:
/// one task owns it. After any error the connection must be dropped (a
/// response may be half-read).
pub struct PeerConnection {
    stream: TcpStream,
    correlation_id: i32,
}

impl PeerConnection {
    /// Connects to `host:port` (no timeout: wrap the call in one).
    pub async fn connect(host: &str, port: i32) -> Result<Self, BrokerError> {
        let port = u16::try_from(port).map_err(|_| {
            BrokerError::InvalidRequest(format!("peer port {port} is not a TCP port"))
        })?;
        let stream = TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        Ok(PeerConnection {
            stream,
            correlation_id: 0,
        })
    }

    /// Sends one request and decodes its response, within `timeout`.
    pub async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, BrokerError> {
        tokio::time::timeout(timeout, self.exchange(api_key, version, request))
            .await
            .map_err(|_| {
                BrokerError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("{api_key:?} to a peer timed out"),
                ))
            })?
    }

    async fn exchange<Req: Encodable, Resp: Decodable>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, BrokerError> {
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let correlation_id = self.correlation_id;
        let header = RequestHeader::default()
            .with_request_api_key(api_key as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, api_key.request_header_version(version))
            .map_err(encode_error)?;
        request.encode(&mut body, version).map_err(encode_error)?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        self.stream.write_all(&frame).await?;
        let len = self.stream.read_i32().await?;
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= MAX_RESPONSE)
            .ok_or_else(|| decode_error(format!("response length {len}")))?;
        let mut buf = vec![0u8; len];
        self.stream.read_exact(&mut buf).await?;
        let mut bytes = bytes::Bytes::from(buf);
        let rh = ResponseHeader::decode(&mut bytes, api_key.response_header_version(version))
            .map_err(decode_error)?;
        if rh.correlation_id != correlation_id {
            return Err(decode_error("correlation id mismatch"));
        }
        let resp = Resp::decode(&mut bytes, version).map_err(decode_error)?;
        if bytes.has_remaining() {
            tracing::debug!(
                api = ?api_key,
                trailing = bytes.remaining(),
                "trailing bytes in inter-broker response"
            );
        }
        Ok(resp)
    }
}
