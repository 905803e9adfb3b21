//! One client connection: the only code that touches the socket.
//!
//! Reads into a buffer, splits complete frames (size checked before any
//! allocation), decodes each request fully, runs it, writes the response.
//! Requests on a connection are handled one at a time in arrival order, as
//! Kafka does, so pipelined requests get their responses in order.
//!
//! Bad input policy (DESIGN §10): an oversized, negative or truncated frame,
//! an unknown API key, an unsupported version or an undecodable body closes
//! the connection with a log line (Kafka does the same); ApiVersions of an
//! unknown version is the exception and gets a v0 UNSUPPORTED_VERSION answer
//! with our ranges. Nothing a client sends can panic this task or affect
//! other connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::ResponseError;
use memorystreamer_protocol_kafka::frame::split_frame;
use memorystreamer_protocol_kafka::request::decode_header;
use memorystreamer_protocol_kafka::response::encode_response;
use memorystreamer_protocol_kafka::ProtocolError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::api::{self, Reply, Session};
use crate::broker::Broker;

/// Why a connection ended.
#[derive(Debug)]
enum Close {
    PeerClosed,
    Shutdown,
    Io(std::io::Error),
    Protocol(ProtocolError),
}

/// Serves one connection until the peer closes it, it misbehaves, or the
/// broker shuts down (after finishing the request in progress).
pub async fn serve(
    broker: Arc<Broker>,
    mut stream: TcpStream,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) {
    if let Err(e) = stream.set_nodelay(true) {
        debug!(%peer, error = %e, "set_nodelay failed");
    }
    let mut session = Session {
        peer: Some(peer),
        ..Session::default()
    };
    let mut client_id = String::new();
    let _guard = crate::metrics::ConnectionGuard::open();
    info!(%peer, "connection opened");
    let reason = run(
        &broker,
        &mut stream,
        &mut session,
        &mut client_id,
        &mut shutdown,
    )
    .await;
    let software = session.client_software_name.as_deref().unwrap_or("");
    let version = session.client_software_version.as_deref().unwrap_or("");
    match &reason {
        Close::PeerClosed | Close::Shutdown => {
            info!(%peer, client_id, software, version, "connection closed")
        }
        Close::Io(e) => {
            info!(%peer, client_id, software, version, error = %e, "connection closed on I/O error")
        }
        Close::Protocol(e) => {
            warn!(%peer, client_id, software, version, error = %e, "closing connection after a bad request")
        }
    }
    let _ = stream.shutdown().await;
}

async fn run(
    broker: &Arc<Broker>,
    stream: &mut TcpStream,
    session: &mut Session,
    client_id: &mut String,
    shutdown: &mut watch::Receiver<bool>,
) -> Close {
    let table = api::table();
    let max = broker.config.socket_request_max_bytes;
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut received = Instant::now();
    loop {
        loop {
            let frame = match split_frame(&mut buf, max) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Close::Protocol(e),
            };
            let mut frame = frame.freeze();
            let started = Instant::now();
            let mut timed = None;
            let reply = match decode_header(&mut frame, table) {
                Ok(header) => {
                    if let Some(id) = &header.header.client_id {
                        if client_id.as_str() != id.as_str() {
                            *client_id = id.to_string();
                        }
                    }
                    timed = Some((header.api_key, header.version()));
                    api::dispatch(broker, session, &header, frame).await
                }
                Err(ProtocolError::UnsupportedVersion {
                    api_key: ApiKey::ApiVersions,
                    correlation_id,
                    ..
                }) => unsupported_api_versions(correlation_id),
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
            _ = shutdown.changed() => return Close::Shutdown,
        }
    }
}

/// The v0 ApiVersions answer to a version we do not know: error 35 plus our
/// ranges, so the client can retry with a version we support.
fn unsupported_api_versions(correlation_id: i32) -> Result<Reply, ProtocolError> {
    let body = api::table().api_versions_response(ResponseError::UnsupportedVersion.code());
    encode_response(ApiKey::ApiVersions, 0, correlation_id, &body).map(Reply::Frame)
}
