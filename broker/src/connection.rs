//! One client connection: the only code that touches the socket, and the
//! admission limits every connection passes first.
//!
//! Reads into a buffer, splits complete frames (size checked before any
//! allocation), decodes each request fully, runs it, writes the response.
//! The connection's [`Session`] (peer, listener, principal, client software)
//! is built once when it opens; each request gets a [`RequestContext`]
//! borrowing it, which `api::dispatch` hands to the handler.
//! Requests on a connection are handled one at a time in arrival order, as
//! Kafka does, so pipelined requests get their responses in order.
//!
//! Bad input policy (DESIGN §10): an oversized, negative or truncated frame,
//! an unknown API key, an unsupported version or an undecodable body closes
//! the connection with a log line (Kafka does the same); ApiVersions of an
//! unknown version is the exception and gets a v0 UNSUPPORTED_VERSION answer
//! with our ranges. Nothing a client sends can panic this task or affect
//! other connections.
//!
//! Resource limits (Kafka's keys, [`ConnectionLimits`]):
//! * The read buffer grows with the bytes that actually arrive (see
//!   `protocol_kafka::frame::MAX_GROWTH_STEP`), never by a frame's declared
//!   size, so a peer declaring 100 MiB and sending 10 bytes costs ~16 KiB.
//! * `connections.max.idle.ms`: a connection is closed when no complete
//!   request has arrived for that long (counted from its opening or from the
//!   end of its previous request). Unlike Kafka, which counts any byte as
//!   activity, bytes of an unfinished request do not reset the clock, so a
//!   request trickled in slower than that is closed too (a request is never
//!   cut off while it is being processed: the clock starts again when its
//!   response has been written).
//! * `max.connections` (across listeners) and `max.connections.per.ip` are
//!   enforced by [`Quotas`] in the accept loops (`server.rs`): past the
//!   former the broker stops accepting until a connection ends (new ones
//!   wait in the kernel's backlog, as in Kafka); past the latter a new
//!   connection is closed at once.
//! * `queued.max.request.bytes` (when positive) bounds the bytes of requests
//!   being read or processed across all connections: a connection reserves
//!   its next request's declared size before reading its body and stops
//!   reading while the pool is exhausted (Kafka mutes the channel).
//!
//! This module is not the request handling itself (`api/`) nor the codec
//! (`protocol-kafka`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use kafka_protocol::messages::ApiKey;
use memorystreamer_protocol_kafka::frame::{frame_size, split_frame};
use memorystreamer_protocol_kafka::request::decode_header;
use memorystreamer_protocol_kafka::ProtocolError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tracing::{info, warn};

use crate::api::{self, Reply};
use crate::broker::Broker;
use crate::context::{KafkaPrincipal, RequestContext, Session};
use crate::security::authenticator::{Authenticator, Gate};
use memorystreamer_sasl::principal::principal_for_peer;
use memorystreamer_sasl::tls::TlsServer;

pub use crate::config::settings::ConnectionLimits;

/// The shared admission state of every client listener: connection slots,
/// per-IP counts and the pool of request bytes.
pub struct Quotas {
    limits: ConnectionLimits,
    slots: Arc<Semaphore>,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    pool: Option<(Arc<Semaphore>, usize)>,
}

impl Quotas {
    /// Quotas for `limits`.
    pub fn new(limits: ConnectionLimits) -> Arc<Self> {
        let max = Semaphore::MAX_PERMITS;
        let pool = usize::try_from(limits.queued_max_request_bytes)
            .ok()
            .filter(|b| *b > 0)
            .map(|b| b.min(max).min(u32::MAX as usize))
            .map(|b| (Arc::new(Semaphore::new(b)), b));
        Arc::new(Quotas {
            slots: Arc::new(Semaphore::new(limits.max_connections.min(max))),
            per_ip: Mutex::new(HashMap::new()),
            pool,
            limits,
        })
    }

    /// Waits for a free connection slot (`max.connections`).
    pub async fn slot(&self) -> OwnedSemaphorePermit {
        match Arc::clone(&self.slots).acquire_owned().await {
            Ok(p) => p,
            // The semaphore is never closed; if it were, admit nothing.
            Err(_) => std::future::pending().await,
        }
    }

    /// Counts a connection from `ip`, or None when `ip` is at
    /// `max.connections.per.ip`.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, slot: OwnedSemaphorePermit) -> Option<Admission> {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(PoisonError::into_inner);
        let n = per_ip.entry(ip).or_insert(0);
        if *n >= self.limits.max_connections_per_ip {
            if *n == 0 {
                per_ip.remove(&ip);
            }
            return None;
        }
        *n += 1;
        Some(Admission {
            quotas: Arc::clone(self),
            ip,
            _slot: slot,
        })
    }

    /// The configured `max.connections.per.ip`.
    pub fn max_connections_per_ip(&self) -> usize {
        self.limits.max_connections_per_ip
    }

    /// Reserves `bytes` of `queued.max.request.bytes` (capped at the pool's
    /// size so one large request can always proceed alone); None when the
    /// pool is unbounded.
    async fn reserve(&self, bytes: usize) -> Option<OwnedSemaphorePermit> {
        let (pool, size) = self.pool.as_ref()?;
        let n = bytes.clamp(1, *size) as u32;
        match Arc::clone(pool).acquire_many_owned(n).await {
            Ok(p) => Some(p),
            Err(_) => std::future::pending().await,
        }
    }
}

/// One admitted connection: holds its `max.connections` slot and its
/// per-IP count until dropped.
pub struct Admission {
    quotas: Arc<Quotas>,
    ip: IpAddr,
    _slot: OwnedSemaphorePermit,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut per_ip = self
            .quotas
            .per_ip
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

/// Why a connection ended.
#[derive(Debug)]
enum Close {
    PeerClosed,
    Shutdown,
    Idle(Duration, usize),
    Io(std::io::Error),
    Protocol(ProtocolError),
    /// Closed by the SASL authenticator without an answer.
    Authentication(String),
    /// Authentication failed (answered after the delay, then closed).
    FailedAuthentication(String),
}

/// A byte stream a connection is served over: a TCP socket, or a TLS
/// session over one.
pub trait ClientStream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> ClientStream for T {}

/// Serves one connection with `session` (its peer, listener and, on SSL,
/// the certificate's principal) until the peer closes it, it misbehaves,
/// or the broker shuts down (after finishing the request in progress).
/// `auth` is the SASL authenticator of a SASL listener's connection. The
/// accept loop has set the socket options (`TCP_NODELAY`) and completed
/// any TLS handshake already.
pub async fn serve<S: ClientStream>(
    broker: Arc<Broker>,
    mut stream: S,
    mut session: Session,
    auth: Option<Authenticator>,
    mut shutdown: watch::Receiver<bool>,
    admission: Admission,
) {
    let peer = session
        .peer
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    let mut auth = auth;
    let mut client_id = String::new();
    let _guard = crate::metrics::ConnectionGuard::open();
    info!(%peer, listener = %session.listener, "connection opened");
    let quotas = Arc::clone(&admission.quotas);
    let reason = run(
        &broker,
        &quotas,
        &mut stream,
        &mut session,
        &mut auth,
        &mut client_id,
        &mut shutdown,
    )
    .await;
    let (software, version) = session
        .client_software
        .as_ref()
        .map_or(("", ""), |c| (c.name.as_str(), c.version.as_str()));
    match &reason {
        Close::PeerClosed | Close::Shutdown => {
            info!(%peer, client_id, software, version, "connection closed")
        }
        Close::Idle(idle, buffered) => {
            info!(%peer, client_id, software, version, idle_ms = idle.as_millis() as u64, buffered,
                "closing connection: no complete request within connections.max.idle.ms")
        }
        Close::Io(e) => {
            info!(%peer, client_id, software, version, error = %e, "connection closed on I/O error")
        }
        Close::Protocol(e) => {
            warn!(%peer, client_id, software, version, error = %e, "closing connection after a bad request")
        }
        Close::Authentication(reason) => {
            info!(%peer, client_id, software, version, %reason, "closing connection: authentication")
        }
        Close::FailedAuthentication(reason) => {
            crate::metrics::failed_authentication(&session.listener);
            info!(%peer, listener = %session.listener, client_id, software, version, %reason,
                "Failed authentication")
        }
    }
    let _ = stream.shutdown().await;
    drop(admission);
}

/// How long a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Completes the TLS handshake of a connection accepted on an SSL or
/// SASL_SSL listener, then [`serve`]s it. On an SSL listener the principal
/// is the client certificate's mapped subject (`User:ANONYMOUS` without
/// one); on SASL_SSL it comes from SASL. A failed handshake (plaintext
/// bytes, an untrusted or expired client certificate, no common protocol)
/// closes the connection with a log line.
pub async fn serve_tls(
    broker: Arc<Broker>,
    stream: tokio::net::TcpStream,
    mut session: Session,
    tls: Arc<TlsServer>,
    auth: Option<Authenticator>,
    shutdown: watch::Receiver<bool>,
    admission: Admission,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.server_config());
    let accepted = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
    let stream = match accepted {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            crate::metrics::failed_authentication(&session.listener);
            info!(peer = ?session.peer, listener = %session.listener, error = %e,
                "Failed authentication: TLS handshake failed");
            return;
        }
        Err(_) => {
            info!(peer = ?session.peer, listener = %session.listener,
                "closing connection: TLS handshake did not finish within 10 s");
            return;
        }
    };
    if auth.is_none() {
        let (_, conn) = stream.get_ref();
        match principal_for_peer(conn.peer_certificates(), tls.principal_mapping_rules()) {
            Ok(p) => session.principal = KafkaPrincipal::parse(&p),
            Err(e) => {
                crate::metrics::failed_authentication(&session.listener);
                info!(peer = ?session.peer, listener = %session.listener, error = %e,
                    "Failed authentication: no principal for the client certificate");
                return;
            }
        }
    }
    serve(broker, stream, session, auth, shutdown, admission).await;
}

/// Sleeps until `deadline`, or forever when there is none.
async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

async fn run<S: ClientStream>(
    broker: &Arc<Broker>,
    quotas: &Quotas,
    stream: &mut S,
    session: &mut Session,
    auth: &mut Option<Authenticator>,
    client_id: &mut String,
    shutdown: &mut watch::Receiver<bool>,
) -> Close {
    let table = api::table();
    let request_max = broker.config.socket_request_max_bytes;
    let max_idle = quotas.limits.max_idle;
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut received = Instant::now();
    // The next request must be complete by then (connections.max.idle.ms).
    let mut deadline = max_idle.map(|d| tokio::time::Instant::now() + d);
    // This request's share of queued.max.request.bytes, held until answered.
    let mut reserved: Option<OwnedSemaphorePermit> = None;
    loop {
        loop {
            // Until authenticated, frames are bounded by
            // sasl.server.max.receive.size.
            let max = auth
                .as_ref()
                .map_or(request_max, |a| a.max_frame(request_max));
            if reserved.is_none() && quotas.pool.is_some() {
                match frame_size(&buf, max) {
                    Ok(Some(size)) => {
                        tokio::select! {
                            r = quotas.reserve(size + 4) => reserved = r,
                            _ = until(deadline) => return Close::Idle(max_idle.unwrap_or_default(), buf.len()),
                            _ = shutdown.changed() => return Close::Shutdown,
                        }
                    }
                    Ok(None) => {}
                    Err(e) => return Close::Protocol(e),
                }
            }
            let frame = match split_frame(&mut buf, max) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Close::Protocol(e),
            };
            let mut frame = frame.freeze();
            let started = Instant::now();
            if let Some(a) = auth.as_mut() {
                match a.on_frame(&frame, &mut session.principal, table) {
                    Gate::Dispatch => {}
                    Gate::Reply(bytes) => {
                        if let Err(e) = stream.write_all(&bytes).await {
                            return Close::Io(e);
                        }
                        reserved = None;
                        deadline = max_idle.map(|d| tokio::time::Instant::now() + d);
                        continue;
                    }
                    Gate::Fail(reply, reason) => {
                        // Kafka delays both the answer and the close.
                        tokio::time::sleep(broker.security.failed_authentication_delay()).await;
                        if let Some(bytes) = reply {
                            let _ = stream.write_all(&bytes).await;
                        }
                        return Close::FailedAuthentication(reason);
                    }
                    Gate::Close(reason) => return Close::Authentication(reason),
                }
            }
            let mut timed = None;
            let reply = match decode_header(&mut frame, table) {
                Ok(header) => {
                    if let Some(id) = &header.header.client_id {
                        if client_id.as_str() != id.as_str() {
                            *client_id = id.to_string();
                        }
                    }
                    timed = Some((header.api_key, header.version()));
                    let mut ctx = RequestContext::new(&header, session);
                    api::dispatch(broker, &mut ctx, frame).await
                }
                Err(ProtocolError::UnsupportedVersion {
                    api_key: ApiKey::ApiVersions,
                    correlation_id,
                    ..
                }) => api::unsupported_version(correlation_id),
                Err(e) => Err(e),
            };
            match reply {
                Ok(Reply::Frame(bytes)) => {
                    if let Err(e) = stream.write_all(&bytes).await {
                        return Close::Io(e);
                    }
                }
                Ok(Reply::None) => {}
                Err(e) => return Close::Protocol(e),
            }
            reserved = None;
            deadline = max_idle.map(|d| tokio::time::Instant::now() + d);
            if let Some((api, version)) = timed {
                // Queue: from the bytes' arrival to the start of processing
                // (pipelined requests wait for the ones before them).
                crate::metrics::record_request(api, version, started - received, started.elapsed());
            }
        }
        if *shutdown.borrow() {
            return Close::Shutdown;
        }
        tokio::select! {
            read = stream.read_buf(&mut buf) => match read {
                Ok(0) => return if buf.is_empty() {
                    Close::PeerClosed
                } else {
                    Close::Protocol(ProtocolError::TruncatedHeader(buf.len()))
                },
                Ok(_) => received = Instant::now(),
                Err(e) => return Close::Io(e),
            },
            _ = until(deadline) => return Close::Idle(max_idle.unwrap_or_default(), buf.len()),
            _ = shutdown.changed() => return Close::Shutdown,
        }
    }
}
