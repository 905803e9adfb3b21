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
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info};

use crate::error::MetadataError;
use crate::image::MetadataImage;
use crate::liveness::liveness_changes;
pub use crate::liveness::{broker_heartbeat_interval, fence_check_interval};
use crate::log_store::{LogStore, LOG_FILE};
use crate::network::{
    exchange, now_ms, serve, Network, ReplicaClock, RpcRequest, RpcResponse, WriteHandler,
};
use crate::records::MetadataRecord;
use crate::state_machine::{StateMachine, SNAPSHOT_FILE};
use crate::store::MetadataLog;
use crate::transport::{QuorumStream, QuorumTransport};
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
    /// `controller.quorum.election.timeout.ms`: a voter that hears nothing
    /// from the quorum leader for a random time in [this, 1.5 × this) stands
    /// for election (see [`RaftTimeouts::for_election_timeout`]).
    pub election_timeout: Duration,
    /// Broker liveness: a registered broker that no heartbeat of has
    /// reached the leader for this long is fenced
    /// (`broker.session.timeout.ms`).
    pub session_timeout: Duration,
    /// How often this node heartbeats every voter
    /// (`broker.heartbeat.interval.ms`), capped at a quarter of the
    /// session so one late heartbeat never fences (see
    /// [`broker_heartbeat_interval`]).
    pub broker_heartbeat: Duration,
    /// How voters reach each other ([`crate::transport::PlainTcp`], or the
    /// broker's TLS).
    pub transport: Arc<dyn QuorumTransport>,
}

/// openraft's timer settings for an election timeout (milliseconds).
///
/// openraft waits `leader_lease + election_timeout` after the last word
/// from the leader before it stands for election, where `leader_lease` is
/// `election_timeout_max` and `election_timeout` is drawn once from
/// `[election_timeout_min, election_timeout_max)`. Kafka's
/// `controller.quorum.election.timeout.ms` means the time without the
/// leader after which an election starts, so for a configured `e` this
/// picks `max = 3e/4` and `min = e/4`: elections start `[e, 1.5e)` after
/// the leader went silent, and a retry after a split vote comes
/// `[e/4, 3e/4)` later. The Raft heartbeat is `e/10` (below `min`, as
/// openraft requires), so one late heartbeat never starts an election.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaftTimeouts {
    /// Leader → follower heartbeat interval.
    pub heartbeat_ms: u64,
    /// Lower bound of the drawn election timeout.
    pub election_min_ms: u64,
    /// Upper bound of the drawn election timeout, also the leader lease.
    pub election_max_ms: u64,
}

impl RaftTimeouts {
    /// The settings for an election timeout of `election` (clamped to
    /// 40 ms ..= `i32::MAX` ms, the range of Kafka's INT key).
    pub fn for_election_timeout(election: Duration) -> RaftTimeouts {
        let e = u64::try_from(election.as_millis())
            .unwrap_or(u64::MAX)
            .clamp(40, i32::MAX as u64);
        RaftTimeouts {
            heartbeat_ms: (e / 10).max(1),
            election_min_ms: e / 4,
            election_max_ms: e * 3 / 4,
        }
    }

    /// The earliest and latest time after the leader's last heartbeat at
    /// which a follower stands for election (before the tick's rounding).
    pub fn election_window(&self) -> (Duration, Duration) {
        let lease = self.election_max_ms;
        (
            Duration::from_millis(lease + self.election_min_ms),
            Duration::from_millis(lease + self.election_max_ms),
        )
    }
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
    /// Last heartbeat seen by this node, per broker (every voter records
    /// them; the leader acts on them).
    last_seen: std::sync::Mutex<std::collections::HashMap<NodeId, Instant>>,
}

impl Local {
    fn seen(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<NodeId, Instant>> {
        self.last_seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl WriteHandler for Local {
    fn heartbeat(&self, node_id: NodeId) -> bool {
        self.seen().insert(node_id, Instant::now());
        self.raft.metrics().borrow().state == ServerState::Leader
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
    transport: Arc<dyn QuorumTransport>,
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

/// Sends this node's heartbeat to every other voter every `interval`
/// (not only to the leader: a voter elected later then knows who was alive
/// before the election), one task and connection per voter so a dead voter
/// delays no other. The first goes out at once: a restarted broker
/// re-registers unfenced, and the leader must not fence it again for want
/// of a heartbeat it has not sent yet.
async fn send_heartbeats(
    transport: Arc<dyn QuorumTransport>,
    node_id: NodeId,
    addr: String,
    interval: Duration,
) {
    let mut conn: Option<QuorumStream> = None;
    let mut first = true;
    loop {
        if !first {
            tokio::time::sleep(interval).await;
        }
        first = false;
        let _ = exchange(
            transport.as_ref(),
            &mut conn,
            &addr,
            &RpcRequest::Heartbeat { node_id },
            interval,
        )
        .await;
    }
}

/// On the leader: every `check` interval, fences registered brokers that
/// missed their session and unfences fenced ones that heartbeat again, by
/// committing records (decided by [`liveness_changes`]).
async fn fence_brokers(
    raft: Raft,
    sm: StateMachine,
    local: Arc<Local>,
    session: Duration,
    check: Duration,
) {
    let recording_since = Instant::now();
    loop {
        tokio::time::sleep(check).await;
        let leads = raft.metrics().borrow().state == ServerState::Leader;
        if !leads {
            continue;
        }
        let image = sm.image();
        let brokers: Vec<(i32, bool)> = image.brokers().map(|b| (b.node_id, b.fenced)).collect();
        let records = liveness_changes(
            &brokers,
            &local.seen(),
            local.node_id,
            recording_since,
            Instant::now(),
            session,
        );
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
        let timeouts = RaftTimeouts::for_election_timeout(cfg.election_timeout);
        let config = Config {
            cluster_name: "memorystreamer".into(),
            heartbeat_interval: timeouts.heartbeat_ms,
            election_timeout_min: timeouts.election_min_ms,
            election_timeout_max: timeouts.election_max_ms,
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
            Network::new(Arc::clone(&clock), Arc::clone(&cfg.transport)),
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
            Arc::clone(&cfg.transport),
            raft.clone(),
            Arc::clone(&local) as Arc<dyn WriteHandler>,
        ));
        let beat = broker_heartbeat_interval(cfg.broker_heartbeat, cfg.session_timeout);
        let mut liveness: Vec<JoinHandle<()>> = cfg
            .voters
            .iter()
            .filter(|(id, _)| **id != cfg.node_id)
            .map(|(_, addr)| {
                tokio::spawn(send_heartbeats(
                    Arc::clone(&cfg.transport),
                    cfg.node_id,
                    addr.clone(),
                    beat,
                ))
            })
            .collect();
        liveness.push(tokio::spawn(fence_brokers(
            raft.clone(),
            sm.clone(),
            local,
            cfg.session_timeout,
            fence_check_interval(cfg.session_timeout, beat),
        )));
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
            transport: cfg.transport,
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
                            let mut conn: Option<QuorumStream> = None;
                            match exchange(
                                self.transport.as_ref(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn elections_start_between_one_and_one_and_a_half_election_timeouts() {
        for e in [40u64, 100, 400, 1000, 5000] {
            let t = RaftTimeouts::for_election_timeout(ms(e));
            assert_eq!(t.election_window(), (ms(e), ms(e + e / 2)), "timeout {e}");
            // openraft's own constraints (Config::validate).
            assert!(t.heartbeat_ms < t.election_min_ms, "timeout {e}: {t:?}");
            assert!(t.election_min_ms < t.election_max_ms, "timeout {e}: {t:?}");
            assert!(t.heartbeat_ms >= 1);
        }
        // The floor: a smaller timeout is treated as 40 ms.
        assert_eq!(
            RaftTimeouts::for_election_timeout(ms(1)),
            RaftTimeouts::for_election_timeout(ms(40))
        );
    }
}
