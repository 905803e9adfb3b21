//! The TCP transport between quorum voters (the controller listener).
//!
//! One request/response exchange per frame on a persistent connection per
//! peer: `len:u32` then the JSON of an [`RpcRequest`] / [`RpcResponse`].
//! Besides openraft's three RPCs it carries forwarded metadata writes, so a
//! node that is not the leader hands a change to the leader. Connection
//! failures map to openraft's `Unreachable` (it backs off) and broken
//! exchanges to `NetworkError` (it retries); every exchange is bounded by
//! openraft's per-RPC deadline.
//!
//! The leader's clients also note, per follower, when it last answered an
//! AppendEntries and when it last was caught up with the leader's log
//! ([`ReplicaClock`], reported by Kafka's DescribeQuorum); openraft's own
//! metrics carry no such times.
//!
//! Bad input from a peer (oversized or undecodable frame) closes that
//! connection only. The byte streams come from a [`QuorumTransport`]:
//! plain TCP ([`crate::transport::PlainTcp`], anyone who reaches the
//! controller address is a voter), or the broker's mutual TLS, which
//! authenticates and authorizes each peer before its first frame.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, RaftMetrics};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::transport::{QuorumStream, QuorumTransport};
use crate::types::{MetadataRequest, MetadataResponse, NodeId, Raft, TypeConfig};

/// How long an accepted connection may take to complete its transport
/// handshake before it is dropped.
const ACCEPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest frame accepted from a peer.
const MAX_FRAME: u32 = 64 * 1024 * 1024;

/// A request between voters.
#[derive(Debug, Serialize, Deserialize)]
pub enum RpcRequest {
    /// openraft log replication / heartbeat.
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    /// openraft election.
    Vote(VoteRequest<NodeId>),
    /// openraft snapshot chunk.
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// A metadata change forwarded to the leader.
    Write(MetadataRequest),
    /// A broker's liveness heartbeat to the controller (the leader).
    Heartbeat {
        /// The sender's node id.
        node_id: NodeId,
    },
}

/// The answer to an [`RpcRequest`].
#[derive(Debug, Serialize, Deserialize)]
pub enum RpcResponse {
    /// Answer to AppendEntries.
    AppendEntries(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    /// Answer to Vote.
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    /// Answer to InstallSnapshot.
    InstallSnapshot(
        Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>,
    ),
    /// Answer to a forwarded write: the state machine's response, or why the
    /// receiver could not commit it (for example, it is not the leader either).
    Write(Result<MetadataResponse, String>),
    /// Answer to a heartbeat: whether the receiver leads (and counted it).
    Heartbeat(bool),
}

/// Writes one frame and flushes it (a TLS stream may hold the end of a
/// frame until flushed).
pub async fn write_frame<T: Serialize, S: AsyncWrite + Unpin + ?Sized>(
    stream: &mut S,
    msg: &T,
) -> std::io::Result<()> {
    let payload = serde_json::to_vec(msg).map_err(std::io::Error::other)?;
    let mut frame = Vec::with_capacity(payload.len() + 4);
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&payload);
    stream.write_all(&frame).await?;
    stream.flush().await
}

/// Reads one frame.
pub async fn read_frame<T: for<'de> Deserialize<'de>, S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
) -> std::io::Result<T> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len);
    if len > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds {MAX_FRAME}"),
        ));
    }
    let mut buf = vec![0u8; len as usize];
    stream.read_exact(&mut buf).await?;
    serde_json::from_slice(&buf)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// One exchange on a fresh or cached connection, bounded by `ttl` (the
/// dial and its handshake included). A failure to connect is `(true, _)`
/// (the peer is unreachable); a broken exchange is `(false, _)`.
pub async fn exchange(
    transport: &dyn QuorumTransport,
    conn: &mut Option<QuorumStream>,
    addr: &str,
    req: &RpcRequest,
    ttl: Duration,
) -> Result<RpcResponse, (bool, std::io::Error)> {
    let fut = async {
        if conn.is_none() {
            let s = transport.connect(addr).await.map_err(|e| (true, e))?;
            *conn = Some(s);
        }
        let Some(stream) = conn.as_mut() else {
            return Err((true, std::io::Error::other("no connection")));
        };
        write_frame(stream, req).await.map_err(|e| (false, e))?;
        read_frame::<RpcResponse, _>(stream)
            .await
            .map_err(|e| (false, e))
    };
    match tokio::time::timeout(ttl, fut).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => {
            *conn = None;
            Err(e)
        }
        Err(_) => {
            *conn = None;
            Err((
                false,
                std::io::Error::new(std::io::ErrorKind::TimedOut, "peer did not answer in time"),
            ))
        }
    }
}

/// When each follower last answered this node's AppendEntries (Kafka's
/// "last fetch") and when it last held everything this node's log held as
/// the request left (Kafka's "last caught up"), in milliseconds since the
/// Unix epoch. Only the leader sends AppendEntries, so only its clock moves.
#[derive(Default)]
pub struct ReplicaClock {
    metrics: OnceLock<watch::Receiver<RaftMetrics<NodeId, BasicNode>>>,
    times: Mutex<HashMap<NodeId, ReplicaTimes>>,
}

/// What [`ReplicaClock`] knows of one follower.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplicaTimes {
    /// Last AppendEntries answer (ms since the Unix epoch), if any.
    pub last_fetch_ms: Option<i64>,
    /// Last answer that left the follower caught up, if any.
    pub last_caught_up_ms: Option<i64>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl ReplicaClock {
    /// Lets the clock read this node's last log index (set once the Raft
    /// handle exists; until then no follower counts as caught up).
    pub fn attach(&self, metrics: watch::Receiver<RaftMetrics<NodeId, BasicNode>>) {
        let _ = self.metrics.set(metrics);
    }

    /// This node's last log index now.
    fn last_log_index(&self) -> Option<u64> {
        self.metrics.get().and_then(|m| m.borrow().last_log_index)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<NodeId, ReplicaTimes>> {
        self.times.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes an AppendEntries answer from `target`.
    fn answered(&self, target: NodeId, caught_up_at: Option<i64>) {
        let now = now_ms();
        let mut times = self.lock();
        let t = times.entry(target).or_default();
        t.last_fetch_ms = Some(now);
        if caught_up_at.is_some() {
            t.last_caught_up_ms = caught_up_at;
        }
    }

    /// What is known of `node`.
    pub fn times(&self, node: NodeId) -> ReplicaTimes {
        self.lock().get(&node).copied().unwrap_or_default()
    }
}

/// Creates a [`PeerClient`] per target.
#[derive(Clone)]
pub struct Network {
    clock: Arc<ReplicaClock>,
    transport: Arc<dyn QuorumTransport>,
}

impl Network {
    /// A factory whose clients dial through `transport` and note follower
    /// times on `clock`.
    pub fn new(clock: Arc<ReplicaClock>, transport: Arc<dyn QuorumTransport>) -> Network {
        Network { clock, transport }
    }
}

/// A connection to one peer.
pub struct PeerClient {
    target: NodeId,
    addr: String,
    conn: Option<QuorumStream>,
    clock: Arc<ReplicaClock>,
    transport: Arc<dyn QuorumTransport>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> PeerClient {
        PeerClient {
            target,
            addr: node.addr.clone(),
            conn: None,
            clock: Arc::clone(&self.clock),
            transport: Arc::clone(&self.transport),
        }
    }
}

impl PeerClient {
    async fn call<E: std::error::Error>(
        &mut self,
        req: RpcRequest,
        option: &RPCOption,
    ) -> Result<RpcResponse, RPCError<NodeId, BasicNode, E>> {
        exchange(
            self.transport.as_ref(),
            &mut self.conn,
            &self.addr,
            &req,
            option.hard_ttl(),
        )
        .await
        .map_err(|(unreachable, e)| {
            debug!(target_node = self.target, addr = %self.addr, error = %e, "raft rpc failed");
            if unreachable {
                RPCError::Unreachable(Unreachable::new(&e))
            } else {
                RPCError::Network(NetworkError::new(&e))
            }
        })
    }

    /// A peer's error answer; the connection is dropped so that the next
    /// call reconnects (the peer may have restarted behind the address).
    fn remote<E: std::error::Error>(&mut self, e: E) -> RPCError<NodeId, BasicNode, E> {
        self.conn = None;
        RPCError::RemoteError(RemoteError::new(self.target, e))
    }

    fn unexpected<E: std::error::Error>(&self) -> RPCError<NodeId, BasicNode, E> {
        RPCError::Network(NetworkError::new(&std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "peer answered a different request",
        )))
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        // The follower is caught up if, once it accepts this request, it
        // holds everything this node held when the request left.
        let sent_at = now_ms();
        let leader_end = self.clock.last_log_index();
        let sent_end = rpc
            .entries
            .last()
            .map(|e| e.log_id.index)
            .or(rpc.prev_log_id.map(|l| l.index));
        let answer = match self.call(RpcRequest::AppendEntries(rpc), &option).await? {
            RpcResponse::AppendEntries(r) => r.map_err(|e| self.remote(e))?,
            _ => return Err(self.unexpected()),
        };
        let caught_up = matches!(answer, AppendEntriesResponse::Success)
            && leader_end.is_some()
            && sent_end >= leader_end;
        if !matches!(answer, AppendEntriesResponse::HigherVote(_)) {
            self.clock
                .answered(self.target, caught_up.then_some(sent_at));
        }
        Ok(answer)
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        match self.call(RpcRequest::Vote(rpc), &option).await? {
            RpcResponse::Vote(r) => r.map_err(|e| self.remote(e)),
            _ => Err(self.unexpected()),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        match self.call(RpcRequest::InstallSnapshot(rpc), &option).await? {
            RpcResponse::InstallSnapshot(r) => r.map_err(|e| self.remote(e)),
            _ => Err(self.unexpected()),
        }
    }
}

/// Serves peers on `listener` until the task is dropped: every connection
/// is handed to `transport` (handshake, authentication; a refusal or a
/// handshake over [`ACCEPT_TIMEOUT`] closes it), then is a loop of request
/// frames answered in order. Connection tasks belong to this task (a
/// `JoinSet`), so stopping it closes every connection and peers reconnect
/// to whatever serves the address next.
pub async fn serve(
    listener: TcpListener,
    transport: Arc<dyn QuorumTransport>,
    raft: Raft,
    writer: Arc<dyn WriteHandler>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (tcp, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                warn!(error = %e, "controller listener accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let raft = raft.clone();
        let writer = Arc::clone(&writer);
        let accepted = transport.accept(tcp, peer);
        connections.spawn(async move {
            let mut stream = match tokio::time::timeout(ACCEPT_TIMEOUT, accepted).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    debug!(%peer, error = %e, "controller connection refused");
                    return;
                }
                Err(_) => {
                    debug!(%peer, "controller connection dropped: no handshake within 10 s");
                    return;
                }
            };
            loop {
                let req = match read_frame::<RpcRequest, _>(&mut stream).await {
                    Ok(r) => r,
                    Err(e) => {
                        if e.kind() != std::io::ErrorKind::UnexpectedEof {
                            debug!(%peer, error = %e, "closing controller connection");
                        }
                        return;
                    }
                };
                let resp = match req {
                    RpcRequest::AppendEntries(r) => {
                        RpcResponse::AppendEntries(raft.append_entries(r).await)
                    }
                    RpcRequest::Vote(r) => RpcResponse::Vote(raft.vote(r).await),
                    RpcRequest::InstallSnapshot(r) => {
                        RpcResponse::InstallSnapshot(raft.install_snapshot(r).await)
                    }
                    RpcRequest::Write(r) => RpcResponse::Write(writer.write_local(r).await),
                    RpcRequest::Heartbeat { node_id } => {
                        RpcResponse::Heartbeat(writer.heartbeat(node_id))
                    }
                };
                if write_frame(&mut stream, &resp).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// What the server does with a forwarded write: commit it here if this node
/// leads, else say why not.
pub trait WriteHandler: Send + Sync + 'static {
    /// Notes a broker heartbeat; true when this node leads.
    fn heartbeat(&self, node_id: NodeId) -> bool;
    /// Commits `req` through this node's Raft (no further forwarding).
    fn write_local(
        &self,
        req: MetadataRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<MetadataResponse, String>> + Send + '_>,
    >;
}
