//! Mutual TLS between metadata quorum voters: the
//! [`QuorumTransport`] a broker hands the raft crate when its controller
//! listener is SSL (`listener.security.protocol.map=CONTROLLER:SSL`).
//!
//! Dialing, a voter verifies the peer's certificate with the controller
//! listener's truststore (and the host of the voter address against the
//! certificate's names) and presents its keystore as its client
//! certificate. Accepting, it completes the handshake (a client certificate
//! is required when `ssl.client.auth=required`), maps the peer's
//! certificate to a principal with `ssl.principal.mapping.rules`, and, with
//! an authorizer configured, admits it only with CLUSTER_ACTION on the
//! cluster, what Kafka's controller asks of Vote, Fetch and broker
//! heartbeats. Until the authorizer has been handed ACLs (those this node
//! stored, at start; else the image's once it catches up) only
//! `super.users` are admitted (Kafka's not-ready window). Unlike Kafka's
//! pull-based quorum, our leader pushes entries to its followers, so a new
//! node, which has no ACLs yet, must admit the leader before it can learn
//! any: every broker's principal must be a super user, as Kafka advises
//! anyway. A refused
//! peer is counted in `memorystreamer_failed_authentication_total` for the
//! controller listener, logged, and closed unanswered.
//!
//! This module is not the frames or their handling (the raft crate's
//! `network`), and not the certificate stores (the `sasl` crate's TLS);
//! SASL on the quorum link is not supported.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use memorystreamer_raft::transport::{IoFuture, QuorumStream, QuorumTransport};
use memorystreamer_sasl::principal::principal_for_peer;
use memorystreamer_sasl::tls::TlsServer;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tracing::info;

use crate::authorizer::{AclOperation, Authorizer, ResourceType, CLUSTER_NAME};

/// Who may talk to the quorum: everyone with a trusted certificate without
/// an authorizer; with one, principals allowed CLUSTER_ACTION on the
/// cluster, and only super users before the ACLs are loaded.
#[derive(Debug, Clone)]
pub struct PeerGate {
    authorizer: Option<Arc<Authorizer>>,
    acls_loaded: Arc<AtomicBool>,
}

impl PeerGate {
    /// A gate over `authorizer` (None: no authorization), whose ACLs count
    /// once `acls_loaded` is set.
    pub fn new(authorizer: Option<Arc<Authorizer>>, acls_loaded: Arc<AtomicBool>) -> Self {
        PeerGate {
            authorizer,
            acls_loaded,
        }
    }

    /// Whether `principal` connecting from `host` may talk to the quorum.
    pub fn admits(&self, principal: &str, host: IpAddr) -> bool {
        let Some(authorizer) = &self.authorizer else {
            return true;
        };
        if !self.acls_loaded.load(Ordering::Acquire) {
            return authorizer.is_super_user(principal);
        }
        authorizer.authorize(
            principal,
            host,
            AclOperation::ClusterAction,
            ResourceType::Cluster,
            CLUSTER_NAME,
        )
    }
}

/// The quorum transport over mutual TLS with the controller listener's
/// stores (see the module documentation).
#[derive(Debug)]
pub struct TlsQuorumTransport {
    tls: Arc<TlsServer>,
    listener: Arc<str>,
    gate: PeerGate,
}

impl TlsQuorumTransport {
    /// A transport with the stores of `tls`, reporting failures under
    /// `listener`, admitting peers through `gate`.
    pub fn new(tls: Arc<TlsServer>, listener: Arc<str>, gate: PeerGate) -> Self {
        TlsQuorumTransport {
            tls,
            listener,
            gate,
        }
    }
}

/// Counts and logs a refused quorum peer; the error closes its connection.
fn refused(listener: &str, peer: SocketAddr, why: String) -> std::io::Error {
    crate::metrics::failed_authentication(listener);
    info!(%peer, %listener, reason = %why, "Failed authentication of a quorum peer");
    std::io::Error::new(std::io::ErrorKind::PermissionDenied, why)
}

impl QuorumTransport for TlsQuorumTransport {
    fn connect<'a>(&'a self, addr: &'a str) -> IoFuture<'a, QuorumStream> {
        Box::pin(async move {
            let host = addr
                .rsplit_once(':')
                .map_or(addr, |(h, _)| h)
                .trim_start_matches('[')
                .trim_end_matches(']');
            let tcp = TcpStream::connect(addr).await?;
            let _ = tcp.set_nodelay(true);
            let stream = crate::interbroker::tls_connect(&self.tls, host, tcp).await?;
            Ok(Box::new(stream) as QuorumStream)
        })
    }

    fn accept(&self, tcp: TcpStream, peer: SocketAddr) -> IoFuture<'static, QuorumStream> {
        let acceptor = TlsAcceptor::from(self.tls.server_config());
        let tls = Arc::clone(&self.tls);
        let listener = Arc::clone(&self.listener);
        let gate = self.gate.clone();
        Box::pin(async move {
            let _ = tcp.set_nodelay(true);
            let stream = match acceptor.accept(tcp).await {
                Ok(s) => s,
                Err(e) => return Err(refused(&listener, peer, format!("TLS handshake: {e}"))),
            };
            let principal = {
                let (_, conn) = stream.get_ref();
                principal_for_peer(conn.peer_certificates(), tls.principal_mapping_rules())
            };
            let principal = match principal {
                Ok(p) => p,
                Err(e) => {
                    return Err(refused(
                        &listener,
                        peer,
                        format!("no principal for the certificate: {e}"),
                    ))
                }
            };
            if !gate.admits(&principal, peer.ip()) {
                return Err(refused(
                    &listener,
                    peer,
                    format!("{principal} is not allowed CLUSTER_ACTION on the cluster"),
                ));
            }
            Ok(Box::new(stream) as QuorumStream)
        })
    }
}
