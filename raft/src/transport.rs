//! How quorum voters reach each other: the byte stream under the
//! [`crate::network`] frames, injected by whoever starts the quorum.
//!
//! [`PlainTcp`] is plain TCP (the default). The broker supplies a TLS
//! transport for a controller listener mapped to SSL: it verifies peers with
//! its truststore, presents its keystore when dialing, and refuses at accept
//! a peer whose certificate does not map to a principal allowed to talk to
//! the quorum. This module is the seam only: it holds no TLS, certificate
//! or authorization code, so the raft crate stays free of them.
//!
//! Every stream a voter sends or receives a frame on comes from a
//! [`QuorumTransport`]: openraft's RPCs, broker heartbeats and forwarded
//! writes dial through [`QuorumTransport::connect`], and every accepted
//! connection goes through [`QuorumTransport::accept`] before its first
//! frame is read. An error from either drops that connection only.

use std::fmt::Debug;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A byte stream between voters (TCP, or TLS over TCP).
pub trait QuorumIo: AsyncRead + AsyncWrite + Unpin + Send + Sync {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> QuorumIo for T {}

/// A boxed [`QuorumIo`].
pub type QuorumStream = Box<dyn QuorumIo>;

/// The future of a transport operation.
pub type IoFuture<'a, T> = Pin<Box<dyn Future<Output = std::io::Result<T>> + Send + 'a>>;

/// Opens and accepts the streams voters exchange frames on.
pub trait QuorumTransport: Send + Sync + Debug + 'static {
    /// Dials the voter at `addr` (`host:port`), completing any handshake.
    /// The caller bounds it with its own deadline.
    fn connect<'a>(&'a self, addr: &'a str) -> IoFuture<'a, QuorumStream>;

    /// Turns a connection accepted from `peer` into a stream frames may be
    /// read from, or refuses it (an error: the connection is closed
    /// unanswered). Runs in the connection's own task under a deadline, so
    /// a slow handshake never holds up other accepts.
    fn accept(&self, tcp: TcpStream, peer: SocketAddr) -> IoFuture<'static, QuorumStream>;
}

/// Plain TCP with `TCP_NODELAY`: anyone who reaches the controller address
/// is a voter. Bind it to a private address.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainTcp;

impl QuorumTransport for PlainTcp {
    fn connect<'a>(&'a self, addr: &'a str) -> IoFuture<'a, QuorumStream> {
        Box::pin(async move {
            let s = TcpStream::connect(addr).await?;
            let _ = s.set_nodelay(true);
            Ok(Box::new(s) as QuorumStream)
        })
    }

    fn accept(&self, tcp: TcpStream, _peer: SocketAddr) -> IoFuture<'static, QuorumStream> {
        Box::pin(async move {
            let _ = tcp.set_nodelay(true);
            Ok(Box::new(tcp) as QuorumStream)
        })
    }
}
