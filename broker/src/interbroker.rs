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
//! one). On a SASL_PLAINTEXT or SASL_SSL inter-broker listener each
//! connection then logs in as Kafka's brokers do: SaslHandshake v1 with
//! `sasl.mechanism.inter.broker.protocol` (PLAIN, SCRAM-SHA-256 or
//! SCRAM-SHA-512), SaslAuthenticate v2 until done, with the username and
//! password of the listener's JAAS entry; a long-lived connection
//! re-authenticates in band before its session ends (KIP-368). Not here:
//! OAUTHBEARER or GSSAPI towards peers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, BytesMut};
use kafka_protocol::messages::{
    ApiKey, RequestHeader, ResponseHeader, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use memorystreamer_sasl::tls::TlsServer;
use memorystreamer_sasl::{ClientSession, ClientStep, Mechanism};
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

/// How this broker logs in to its peers over SASL.
#[derive(Clone)]
pub struct SaslLogin {
    /// `sasl.mechanism.inter.broker.protocol`.
    pub mechanism: Mechanism,
    /// The JAAS entry's `username`.
    pub username: String,
    /// The JAAS entry's `password`.
    pub password: String,
}

/// Never prints the password.
impl std::fmt::Debug for SaslLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslLogin")
            .field("mechanism", &self.mechanism.name())
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// How this broker connects to its peers: the security of its
/// inter-broker listener, which every broker of a cluster shares.
#[derive(Debug, Clone, Default)]
pub struct PeerDialer {
    /// The inter-broker listener's TLS stores; None: plaintext.
    tls: Option<Arc<TlsServer>>,
    /// The SASL login on a SASL listener; None: no SASL.
    sasl: Option<Arc<SaslLogin>>,
}

impl PeerDialer {
    /// A dialer speaking plaintext.
    pub fn plaintext() -> Self {
        PeerDialer::default()
    }

    /// A dialer speaking TLS with the stores of `tls` (the inter-broker
    /// listener's).
    pub fn tls(tls: Arc<TlsServer>) -> Self {
        PeerDialer {
            tls: Some(tls),
            sasl: None,
        }
    }

    /// This dialer, logging in with `login` on every connection.
    pub fn with_sasl(self, login: SaslLogin) -> Self {
        PeerDialer {
            sasl: Some(Arc::new(login)),
            ..self
        }
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
        Ok(Box::new(tls_connect(tls, host, stream).await?))
    }
}

/// The TLS client handshake of a connection to `host` over `tcp`, with
/// the stores of `tls`: the truststore verifies the peer and `host`
/// against its certificate's names, the keystore is this node's client
/// certificate (for inter-broker links and quorum voters alike). The
/// client configuration is built per connection, so a reloaded truststore
/// applies to the next one.
pub async fn tls_connect(
    tls: &TlsServer,
    host: &str,
    tcp: TcpStream,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let config = tls
        .client_config()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("TLS: {e}")))?;
    let name = ServerName::try_from(host.to_string()).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("TLS: peer host {host}: {e}"),
        )
    })?;
    TlsConnector::from(config).connect(name, tcp).await
}

/// When to re-authenticate a session of `lifetime`: a random point in
/// [85 %, 95 %] of it, as Kafka's client, so that connections opened
/// together do not all re-authenticate at once.
pub fn reauth_delay(lifetime: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let jitter = f64::from(nanos % 1000) / 1000.0;
    lifetime.mul_f64(0.85 + 0.10 * jitter)
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
    /// The SASL login, when the peer's listener wants one.
    sasl: Option<Arc<SaslLogin>>,
    /// When to re-authenticate (KIP-368), if the session ends.
    reauth_at: Option<Instant>,
}

impl PeerConnection {
    /// Connects to `host:port` with `dialer` (no timeout: wrap the call
    /// in one).
    pub async fn connect(dialer: &PeerDialer, host: &str, port: i32) -> Result<Self, BrokerError> {
        let port = u16::try_from(port).map_err(|_| {
            BrokerError::InvalidRequest(format!("peer port {port} is not a TCP port"))
        })?;
        let stream = dialer.open(host, port).await?;
        let mut conn = PeerConnection {
            stream,
            correlation_id: 0,
            sasl: dialer.sasl.clone(),
            reauth_at: None,
        };
        conn.authenticate().await?;
        Ok(conn)
    }

    /// Logs in over SASL when the dialer has a login (no-op otherwise):
    /// SaslHandshake v1, then SaslAuthenticate v2 until the mechanism is
    /// done (for SCRAM: the server has proven it knows the credential).
    /// The session lifetime the server gives sets the next
    /// re-authentication, at a random point between 85 % and 95 % of it
    /// (Kafka's client). A refusal is an error naming the reason the
    /// server gave.
    async fn authenticate(&mut self) -> Result<(), BrokerError> {
        let Some(login) = self.sasl.clone() else {
            return Ok(());
        };
        let refused = |why: String| {
            BrokerError::Io(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "SASL {} login as {} to a peer: {why}",
                    login.mechanism, login.username
                ),
            ))
        };
        let hs: SaslHandshakeResponse = self
            .exchange(
                ApiKey::SaslHandshake,
                1,
                &SaslHandshakeRequest::default()
                    .with_mechanism(StrBytes::from_static_str(login.mechanism.name())),
            )
            .await?;
        if hs.error_code != 0 {
            let offered: Vec<&str> = hs.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(refused(format!(
                "the peer does not enable it (error {}; it offers {})",
                hs.error_code,
                offered.join(",")
            )));
        }
        let mut session = ClientSession::new(login.mechanism, &login.username, &login.password)
            .map_err(|e| refused(e.to_string()))?;
        let mut server = bytes::Bytes::new();
        let mut lifetime_ms = 0i64;
        // PLAIN takes one round, SCRAM two; anything longer is a broken peer.
        for _ in 0..4 {
            match session.step(&server).map_err(|e| refused(e.to_string()))? {
                ClientStep::Done => {
                    self.reauth_at = (lifetime_ms > 0).then(|| {
                        Instant::now() + reauth_delay(Duration::from_millis(lifetime_ms as u64))
                    });
                    return Ok(());
                }
                ClientStep::Send(bytes) => {
                    let r: SaslAuthenticateResponse = self
                        .exchange(
                            ApiKey::SaslAuthenticate,
                            2,
                            &SaslAuthenticateRequest::default().with_auth_bytes(bytes.into()),
                        )
                        .await?;
                    if r.error_code != 0 {
                        let why = r.error_message.as_ref().map_or("", |m| m.as_str());
                        return Err(refused(format!("error {}: {why}", r.error_code)));
                    }
                    lifetime_ms = r.session_lifetime_ms;
                    server = r.auth_bytes;
                }
            }
        }
        Err(refused("the exchange did not end".into()))
    }

    /// Sends one request and decodes its response, within `timeout`.
    pub async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, BrokerError> {
        tokio::time::timeout(timeout, async {
            if self.reauth_at.is_some_and(|t| Instant::now() >= t) {
                // KIP-368: in band, on this connection, before the peer
                // closes it for an expired session.
                self.authenticate().await?;
            }
            self.exchange(api_key, version, request).await
        })
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
