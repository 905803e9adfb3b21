//! A metadata quorum member: openraft with the durable log store, the
//! metadata state machine and the TCP transport, behind a small API —
//! write records (forwarded to the leader when this node does not lead),
//! read or watch the image, see who leads.
//!
//! Every voter is started with the same static voter set (Kafka's
//! `controller.quorum.voters`) and initialises the cluster with it when its
//! log is empty; openraft accepts the identical initial membership from every
//! voter, so start order does not matter. A single voter is a one-node
//! quorum that elects itself.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, Config, ServerState, SnapshotPolicy};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info};

use crate::error::MetadataError;
use crate::image::MetadataImage;
use crate::log_store::{LogStore, LOG_FILE};
use crate::network::{
    exchange, now_ms, serve, Network, ReplicaClock, RpcRequest, RpcResponse, WriteHandler,
};
use crate::records::MetadataRecord;
use crate::state_machine::{StateMachine, SNAPSHOT_FILE};
use crate::store::MetadataLog;
use crate::types::{MetadataRequest, MetadataResponse, NodeId, Raft};

/// How a quorum member starts.
#[derive(Debug, Clone)]
pub struct QuorumConfig {
    /// This node's id.
    pub node_id: NodeId,
    /// Directory for the Raft log and snapshots.
    pub dir: PathBuf,
    /// Where the controller listener binds.
    pub listen: String,
    /// Every voter: node id → controller address (`host:port`).
    pub voters: BTreeMap<NodeId, String>,
    /// Heartbeat interval; election timeouts are 4–8 times it.
    pub heartbeat: Duration,
    /// Broker liveness: a registered broker that has not heartbeated the
    /// leader for this long is fenced (`broker.session.timeout.ms`).
    pub session_timeout: Duration,
}

/// Why a quorum operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QuorumError {
    /// Files or sockets.
    #[error("metadata quorum I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The stored metadata is damaged (see [`Quorum::check_dir`]).
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// openraft refused to start or stopped.
    #[error("metadata quorum: {0}")]
    Raft(String),
    /// The state machine rejected the records (the image is unchanged).
    #[error("{0}")]
    Rejected(String),
    /// No leader could be reached before the deadline.
    #[error("no metadata quorum leader reachable: {0}")]
    NoLeader(String),
}

struct Local {
    raft: Raft,
    node_id: NodeId,
    /// Last heartbeat seen by this node, per broker (only meaningful while
    /// this node leads).
    last_seen: std::sync::Mutex<std::collections::HashMap<NodeId, Instant>>,
}

impl Local {
    fn seen(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<NodeId, Instant>> {
        self.last_seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl WriteHandler for Local {
    fn heartbeat(&self, node_id: NodeId) -> bool {
        let leads = self.raft.metrics().borrow().state == ServerState::Leader;
        if leads {
            self.seen().insert(node_id, Instant::now());
        }
        leads
    }

    fn write_local(
        &self,
        req: MetadataRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<MetadataResponse, String>> + Send + '_>,
    > {
        Box::pin(async move {
            self.raft
                .client_write(req)
                .await
                .map(|r| r.data)
                .map_err(|e| e.to_string())
        })
    }
}

/// File name of the pre-quorum metadata log (imported once, then renamed).
pub const LEGACY_LOG_FILE: &str = "metadata.log";

/// What [`Quorum::check_dir`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataDir {
    /// No metadata yet: a first start (the quorum will be initialised or
    /// receive its log from the other voters).
    New,
    /// Intact metadata (a torn tail of `raft.log` may still be cut on open).
    Existing,
    /// Only a pre-quorum `metadata.log`, to import.
    Legacy,
}

/// A running quorum member.
pub struct Quorum {
    node_id: NodeId,
    raft: Raft,
    sm: StateMachine,
    voters: BTreeMap<NodeId, String>,
    server: JoinHandle<()>,
    liveness: Vec<JoinHandle<()>>,
    local_addr: std::net::SocketAddr,
    clock: Arc<ReplicaClock>,
}

/// The state of the quorum as this node sees it, in Kafka's terms
/// (DescribeQuorum): offsets are Raft log indexes, exclusive ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumStatus {
    /// The leader this node knows of.
    pub leader_id: Option<NodeId>,
    /// True when this node leads (only then are follower fields known).
    pub is_leader: bool,
    /// The current Raft term (Kafka's leader epoch).
    pub term: u64,
    /// One past the last committed entry (Kafka's high watermark), if any
    /// entry is committed.
    pub high_watermark: Option<u64>,
    /// Every voter, in node id order.
    pub voters: Vec<VoterStatus>,
}

/// One voter in a [`QuorumStatus`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoterStatus {
    /// Node id.
    pub node_id: NodeId,
    /// Controller listener address (`host:port`).
    pub address: String,
    /// One past the last entry known to be in its log (Kafka's log end
    /// offset): this node's own log, or, on the leader, what the follower
    /// has acknowledged. `None` when unknown.
    pub log_end_offset: Option<u64>,
    /// Last time (ms since the Unix epoch) the leader heard from it.
    pub last_fetch_ms: Option<i64>,
    /// Last time (ms since the Unix epoch) it was caught up with the leader.
    pub last_caught_up_ms: Option<i64>,
}

/// Sends this node's heartbeat to the leader every `interval`.
async fn send_heartbeats(
    raft: Raft,
    node_id: NodeId,
    voters: BTreeMap<NodeId, String>,
    interval: Duration,
) {
    let mut conn: Option<TcpStream> = None;
    let mut conn_to = None;
    loop {
        tokio::time::sleep(interval).await;
        let leader = raft.metrics().borrow().current_leader;
        let Some(leader) = leader.filter(|l| *l != node_id) else {
            continue;
        };
        let Some(addr) = voters.get(&leader) else {
            continue;
        };
        if conn_to != Some(leader) {
            conn = None;
            conn_to = Some(leader);
        }
        let _ = exchange(
            &mut conn,
            addr,
            &RpcRequest::Heartbeat { node_id },
            interval,
        )
        .await;
    }
}

/// On the leader: fences registered brokers that missed their session and
/// unfences fenced ones that heartbeat again, by committing records.
async fn fence_brokers(raft: Raft, sm: StateMachine, local: Arc<Local>, session: Duration) {
    let mut leader_since: Option<Instant> = None;
    loop {
        tokio::time::sleep(session / 6).await;
        let leads = raft.metrics().borrow().state == ServerState::Leader;
        if !leads {
            leader_since = None;
            continue;
        }
        let since = *leader_since.get_or_insert_with(Instant::now);
        let image = sm.image();
        let mut records = Vec::new();
        {
            let seen = local.seen();
            for b in image.brokers() {
                let Ok(id) = NodeId::try_from(b.node_id) else {
                    continue;
                };
                if id == local.node_id {
                    continue;
                }
                let alive = seen.get(&id).is_some_and(|t| t.elapsed() < session);
                if b.fenced && alive {
                    records.push(MetadataRecord::BrokerUnfenced { node_id: b.node_id });
                } else if !b.fenced && !alive && since.elapsed() >= session {
                    records.push(MetadataRecord::BrokerFenced { node_id: b.node_id });
                }
            }
        }
        for rec in records {
            info!(record = ?rec, "broker liveness changed");
            if let Err(e) = raft
                .client_write(MetadataRequest { records: vec![rec] })
                .await
            {
                debug!(error = %e, "could not commit a liveness change");
            }
        }
    }
}

impl Quorum {
    /// Checks the metadata directory `dir` before anything opens it, and
    /// changes nothing in it. `formatted` says the data directory around it
    /// has been used (it has `meta.properties` or partition directories),
    /// so its metadata must exist.
    ///
    /// Refused with [`MetadataError::Damaged`]: a damaged `raft.log`,
    /// `snapshot.json` or `metadata.log` (whatever `formatted` says); and,
    /// when `formatted`, a missing `dir`, a missing or empty `raft.log`
    /// (a written one is never empty; entries after the snapshot would be
    /// lost) unless a pre-quorum `metadata.log` with records is there to
    /// import, and a `raft.log` purged past what `snapshot.json` holds.
    pub fn check_dir(dir: &std::path::Path, formatted: bool) -> Result<MetadataDir, MetadataError> {
        if !dir.is_dir() {
            if formatted {
                return Err(MetadataError::damaged(
                    dir,
                    "the metadata directory is missing, but the data directory holds \
                     meta.properties or partition directories",
                ));
            }
            return Ok(MetadataDir::New);
        }
        let snapshot = StateMachine::inspect(dir)?;
        let legacy = MetadataLog::inspect(&dir.join(LEGACY_LOG_FILE))?;
        let log = LogStore::inspect(dir)?;
        let log_path = dir.join(LOG_FILE);
        let Some(summary) = log.filter(|l| l.frames > 0) else {
            if legacy.is_some_and(|n| n > 0) {
                return Ok(MetadataDir::Legacy);
            }
            if !formatted && snapshot.is_none() {
                return Ok(MetadataDir::New);
            }
            let what = if log_path.exists() {
                "is empty (no intact write)"
            } else {
                "is missing"
            };
            let snap = match snapshot {
                Some(id) => format!(
                    "; {SNAPSHOT_FILE} covers the log up to index {} but the entries after it are lost",
                    id.map_or(0, |l| l.index)
                ),
                None => String::new(),
            };
            return Err(MetadataError::damaged(
                &log_path,
                format!("{what}, but the data directory was formatted{snap}"),
            ));
        };
        if let Some(purged) = summary.last_purged {
            let covered = snapshot.flatten().map(|l| l.index);
            if covered.is_none_or(|c| c < purged.index) {
                return Err(MetadataError::damaged(
                    &dir.join(SNAPSHOT_FILE),
                    format!(
                        "{LOG_FILE} was compacted up to index {} but the snapshot {}",
                        purged.index,
                        match covered {
                            Some(c) => format!("ends at index {c}"),
                            None => "is missing".into(),
                        }
                    ),
                ));
            }
        }
        Ok(MetadataDir::Existing)
    }

    /// Opens the stores, binds the controller listener, starts Raft and
    /// initialises the cluster if this node's log is empty.
    pub async fn start(cfg: QuorumConfig) -> Result<Quorum, QuorumError> {
        let log = LogStore::open(&cfg.dir)?;
        let sm = StateMachine::open(&cfg.dir)?;
        let hb = cfg.heartbeat.as_millis().max(10) as u64;
        let config = Config {
            cluster_name: "memorystreamer".into(),
            heartbeat_interval: hb,
            election_timeout_min: hb * 4,
            election_timeout_max: hb * 8,
            install_snapshot_timeout: 2000,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(1000),
            max_in_snapshot_log_to_keep: 100,
            ..Config::default()
        }
        .validate()
        .map_err(|e| QuorumError::Raft(e.to_string()))?;
        let clock = Arc::new(ReplicaClock::default());
        let raft = Raft::new(
            cfg.node_id,
            Arc::new(config),
            Network::new(Arc::clone(&clock)),
            log,
            sm.clone(),
        )
        .await
        .map_err(|e| QuorumError::Raft(e.to_string()))?;
        clock.attach(raft.metrics());
        let listener = TcpListener::bind(&cfg.listen).await?;
        let local_addr = listener.local_addr()?;
        let local = Arc::new(Local {
            raft: raft.clone(),
            node_id: cfg.node_id,
            last_seen: std::sync::Mutex::new(std::collections::HashMap::new()),
        });
        let server = tokio::spawn(serve(
            listener,
            raft.clone(),
            Arc::clone(&local) as Arc<dyn WriteHandler>,
        ));
        let beat = (cfg.session_timeout / 6).max(Duration::from_millis(10));
        let liveness = vec![
            tokio::spawn(send_heartbeats(
                raft.clone(),
                cfg.node_id,
                cfg.voters.clone(),
                beat,
            )),
            tokio::spawn(fence_brokers(
                raft.clone(),
                sm.clone(),
                local,
                cfg.session_timeout,
            )),
        ];
        if !raft
            .is_initialized()
            .await
            .map_err(|e| QuorumError::Raft(e.to_string()))?
        {
            let members: BTreeMap<NodeId, BasicNode> = cfg
                .voters
                .iter()
                .map(|(id, addr)| (*id, BasicNode { addr: addr.clone() }))
                .collect();
            match raft.initialize(members).await {
                Ok(()) => {
                    info!(node_id = cfg.node_id, voters = ?cfg.voters, "metadata quorum initialised")
                }
                // Another voter initialised first and replicated to us.
                Err(RaftError::APIError(e)) => debug!(error = %e, "quorum already initialised"),
                Err(e) => return Err(QuorumError::Raft(e.to_string())),
            }
        }
        Ok(Quorum {
            node_id: cfg.node_id,
            raft,
            sm,
            voters: cfg.voters,
            server,
            liveness,
            local_addr,
            clock,
        })
    }

    /// Address the controller listener is bound to.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.local_addr
    }

    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// The current image (applied on this node).
    pub fn image(&self) -> Arc<MetadataImage> {
        self.sm.image()
    }

    /// Sees every new image applied on this node.
    pub fn subscribe(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.sm.subscribe()
    }

    /// The leader this node knows of.
    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    /// True when this node leads.
    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().state == ServerState::Leader
    }

    /// The quorum as this node sees it (see [`QuorumStatus`]). Followers'
    /// log ends and times are known only on the leader; the leader's own
    /// times are now, as in Kafka.
    pub async fn status(&self) -> Result<QuorumStatus, QuorumError> {
        let committed = self
            .raft
            .with_raft_state(|st| st.committed)
            .await
            .map_err(|e| QuorumError::Raft(e.to_string()))?;
        let m = self.raft.metrics().borrow().clone();
        let is_leader = m.state == ServerState::Leader;
        let now = now_ms();
        let voters = self
            .voters
            .iter()
            .map(|(id, addr)| {
                // A one-voter quorum may bind an ephemeral port ("host:0").
                let address = if *id == self.node_id && addr.ends_with(":0") {
                    self.local_addr.to_string()
                } else {
                    addr.clone()
                };
                let mut v = VoterStatus {
                    node_id: *id,
                    address,
                    log_end_offset: None,
                    last_fetch_ms: None,
                    last_caught_up_ms: None,
                };
                if *id == self.node_id {
                    v.log_end_offset = Some(m.last_log_index.map_or(0, |i| i + 1));
                    if is_leader {
                        v.last_fetch_ms = Some(now);
                        v.last_caught_up_ms = Some(now);
                    }
                } else if is_leader {
                    // None until the follower acknowledged something this term.
                    v.log_end_offset = m
                        .replication
                        .as_ref()
                        .and_then(|r| r.get(id).copied().flatten())
                        .map(|l| l.index + 1);
                    let t = self.clock.times(*id);
                    v.last_fetch_ms = t.last_fetch_ms;
                    v.last_caught_up_ms = t.last_caught_up_ms;
                }
                v
            })
            .collect();
        Ok(QuorumStatus {
            leader_id: m.current_leader,
            is_leader,
            term: m.current_term,
            high_watermark: committed.map(|c| c.index + 1),
            voters,
        })
    }

    /// Index of the last entry applied here.
    pub fn last_applied(&self) -> Option<u64> {
        self.raft.metrics().borrow().last_applied.map(|l| l.index)
    }

    /// Commits `records` as one atomic change, through the leader wherever
    /// it is, waiting at most `timeout` (leader elections included). Returns
    /// once the change is committed and applied on the leader; this node's
    /// image follows shortly after (see [`Quorum::wait_applied`]).
    pub async fn write(
        &self,
        records: Vec<MetadataRecord>,
        timeout: Duration,
    ) -> Result<(), QuorumError> {
        let deadline = Instant::now() + timeout;
        let req = MetadataRequest { records };
        let mut last_error = String::from("no attempt");
        loop {
            let resp = match self.raft.client_write(req.clone()).await {
                Ok(r) => Some(Ok(r.data)),
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                    match f.leader_node.or_else(|| {
                        f.leader_id
                            .and_then(|id| self.voters.get(&id))
                            .map(|addr| BasicNode { addr: addr.clone() })
                    }) {
                        Some(leader) => {
                            let left = deadline.saturating_duration_since(Instant::now());
                            let mut conn: Option<TcpStream> = None;
                            match exchange(
                                &mut conn,
                                &leader.addr,
                                &RpcRequest::Write(req.clone()),
                                left.max(Duration::from_millis(10)),
                            )
                            .await
                            {
                                Ok(RpcResponse::Write(Ok(r))) => Some(Ok(r)),
                                Ok(RpcResponse::Write(Err(e))) => {
                                    last_error = e;
                                    None
                                }
                                Ok(_) => {
                                    last_error = "leader answered another request".into();
                                    None
                                }
                                Err((_, e)) => {
                                    last_error = e.to_string();
                                    None
                                }
                            }
                        }
                        None => {
                            last_error = "no leader elected yet".into();
                            None
                        }
                    }
                }
                Err(e) => {
                    last_error = e.to_string();
                    None
                }
            };
            match resp {
                Some(Ok(MetadataResponse { error: None })) => return Ok(()),
                Some(Ok(MetadataResponse { error: Some(e) })) => {
                    return Err(QuorumError::Rejected(e))
                }
                Some(Err(e)) => return Err(e),
                None => {}
            }
            if Instant::now() >= deadline {
                return Err(QuorumError::NoLeader(last_error));
            }
            // Wait for the leadership picture to change rather than spin.
            let mut metrics = self.raft.metrics();
            let _ = tokio::time::timeout(Duration::from_millis(100), metrics.changed()).await;
        }
    }

    /// Waits until this node has applied everything the leader had
    /// committed when called (a linearizable read barrier), at most `timeout`.
    pub async fn wait_applied(&self, timeout: Duration) -> Result<(), QuorumError> {
        let deadline = Instant::now() + timeout;
        let target = loop {
            let m = self.raft.metrics().borrow().clone();
            if let (Some(_), Some(idx)) = (m.current_leader, m.last_log_index) {
                break idx;
            }
            if Instant::now() >= deadline {
                return Err(QuorumError::NoLeader("no leader known".into()));
            }
            let mut metrics = self.raft.metrics();
            let _ = tokio::time::timeout(Duration::from_millis(100), metrics.changed()).await;
        };
        let left = deadline.saturating_duration_since(Instant::now());
        self.raft
            .wait(Some(left))
            .applied_index_at_least(Some(target), "wait applied")
            .await
            .map(|_| ())
            .map_err(|e| QuorumError::NoLeader(e.to_string()))
    }

    /// Stops Raft and the controller listener.
    pub async fn shutdown(&self) {
        self.server.abort();
        for t in &self.liveness {
            t.abort();
        }
        let _ = self.raft.shutdown().await;
    }
}
