//! A minimal Kafka-protocol client for broker-to-broker requests: the
//! transaction coordinator sending WriteTxnMarkers to partition leaders and
//! partition leaders asking a remote coordinator to verify a transactional
//! produce (AddPartitionsToTxn v4+, `verify_only`).
//!
//! [`call`] opens one connection per call: these requests are rare (one per
//! transaction end or per first batch of a transaction in a partition), so a
//! pool is not worth its failure modes yet. Replica fetchers keep a
//! [`PeerConnection`] open to their leader instead. Every call is bounded by a deadline.
//!
//! Connections go to the peer's `inter.broker.listener.name` endpoint
//! through a [`PeerDialer`]: plaintext, or TLS with the listener's own
//! stores (the truststore verifies the peer and its host name, the
//! keystore is this broker's client certificate for peers that require
//! one). Not here: SASL towards peers (a SASL inter-broker listener is
//! refused in a cluster by the configuration until it is built).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use memorystreamer_sasl::tls::TlsServer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::error::BrokerError;

/// The client id of every inter-broker request (a node receiving one knows
/// another node sent it, e.g. not to forward it again).
pub const CLIENT_ID: &str = "memorystreamer-broker";

/// Upper bound on a peer's response frame.
const MAX_RESPONSE: usize = 64 << 20;

/// How this broker connects to its peers: the security of its
/// inter-broker listener, which every broker of a cluster shares.
#[derive(Debug, Clone, Default)]
pub struct PeerDialer {
    /// The inter-broker listener's TLS stores; None: plaintext.
    tls: Option<Arc<TlsServer>>,
}

impl PeerDialer {
    /// A dialer speaking plaintext.
    pub fn plaintext() -> Self {
        PeerDialer { tls: None }
    }

    /// A dialer speaking TLS with the stores of `tls` (the inter-broker
    /// listener's).
    pub fn tls(tls: Arc<TlsServer>) -> Self {
        PeerDialer { tls: Some(tls) }
    }

    /// Fails when this dialer could not connect to a peer (TLS without a
    /// truststore to verify it with): checked at start by a node of a
    /// cluster, which has peers to dial.
    pub fn check(&self) -> Result<(), BrokerError> {
        match &self.tls {
            Some(tls) => tls
                .client_config()
                .map(|_| ())
                .map_err(|e| BrokerError::Config(format!("inter-broker TLS: {e}"))),
            None => Ok(()),
        }
    }

    /// True when peers are dialed over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    async fn open(&self, host: &str, port: u16) -> Result<Box<dyn PeerIo>, BrokerError> {
        let stream = TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        let Some(tls) = &self.tls else {
            return Ok(Box::new(stream));
        };
        // Built per connection: a reloaded truststore applies to the next.
        let config = tls
            .client_config()
            .map_err(|e| BrokerError::Config(format!("inter-broker TLS: {e}")))?;
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| BrokerError::Config(format!("inter-broker TLS: peer host {host}: {e}")))?;
        let stream = TlsConnector::from(config).connect(name, stream).await?;
        Ok(Box::new(stream))
    }
}

/// A byte stream to a peer (TCP, or TLS over TCP).
trait PeerIo: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> PeerIo for T {}

/// Sends one request to `host:port` and decodes its response, within
/// `timeout`.
pub async fn call<Req: Encodable, Resp: Decodable>(
    dialer: &PeerDialer,
    host: &str,
    port: i32,
    api_key: ApiKey,
    version: i16,
    request: &Req,
    timeout: Duration,
) -> Result<Resp, BrokerError> {
    tokio::time::timeout(
        timeout,
        call_inner(dialer, host, port, api_key, version, request),
    )
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
    dialer: &PeerDialer,
    host: &str,
    port: i32,
    api_key: ApiKey,
    version: i16,
    request: &Req,
) -> Result<Resp, BrokerError> {
    let mut conn = PeerConnection::connect(dialer, host, port).await?;
    conn.exchange(api_key, version, request).await
}

/// A long-lived connection to another broker (a follower's fetch session
/// with its leader): requests are sent one at a time, each answered before
/// the next, with increasing correlation ids. Not thread-safe by design:
/// one task owns it. After any error the connection must be dropped (a
/// response may be half-read).
pub struct PeerConnection {
    stream: Box<dyn PeerIo>,
    correlation_id: i32,
}

impl PeerConnection {
    /// Connects to `host:port` with `dialer` (no timeout: wrap the call
    /// in one).
    pub async fn connect(dialer: &PeerDialer, host: &str, port: i32) -> Result<Self, BrokerError> {
        let port = u16::try_from(port).map_err(|_| {
            BrokerError::InvalidRequest(format!("peer port {port} is not a TCP port"))
        })?;
        let stream = dialer.open(host, port).await?;
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
        // A TLS stream may hold the end of the frame until flushed.
        self.stream.flush().await?;
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
