//! The broker's shared state: configuration, cluster identity, the current
//! metadata image and the partitions hosted here.
//!
//! Metadata changes (topics, configs, producer-id blocks) are validated
//! against the current image, committed as [`MetadataRecord`]s through the
//! metadata quorum ([`Quorum`]: openraft, a single voter unless
//! `controller.quorum.voters` lists more), and take effect here when the
//! committed image is applied: [`Broker::sync_image`] diffs it against the
//! previous one (open new partitions, retire deleted topics, reconfigure)
//! before publishing it for request handlers, which read it without locks.
//! Images committed by other nodes arrive the same way (a watcher task in
//! `server.rs`).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwap;
use dashmap::DashMap;
use memorystreamer_log::{Log, LogConfig};
use memorystreamer_raft::quorum::{Quorum, QuorumConfig, QuorumError};
use memorystreamer_raft::{MetadataImage, MetadataLog, MetadataRecord, TopicImage};
use tracing::{debug, info, warn};
use uuid::Uuid;

use crate::config::BrokerConfig;
use crate::error::BrokerError;
use crate::group::{GroupCoordinator, OFFSETS_TOPIC};
use crate::partition::{Partition, PartitionSettings, TopicPartitions};
use crate::topic_config::{ConfigDef, TopicConfig, TOPIC_CONFIGS};
use crate::txn::{TxnCoordinator, TXN_TOPIC};

/// Maps a placement the state machine refused to Kafka's error codes.
fn placement_error(e: BrokerError) -> BrokerError {
    match e {
        BrokerError::InvalidRequest(m) if m.contains("replication factor") => {
            BrokerError::InvalidReplicationFactor(m)
        }
        BrokerError::InvalidRequest(m)
            if m.contains("does not exist") || m.contains("replicas") =>
        {
            BrokerError::InvalidReplicaAssignment(m)
        }
        other => other,
    }
}

fn replicas_unsupported(rf: i16) -> BrokerError {
    BrokerError::InvalidReplicationFactor(format!(
        "replication factor {rf}: partitions have a single copy until replication is implemented"
    ))
}

/// Longest a metadata change waits for the quorum (elections included).
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Maps a quorum failure to the broker's error.
fn quorum_error(e: QuorumError) -> BrokerError {
    match e {
        QuorumError::Rejected(m) => BrokerError::InvalidRequest(m),
        QuorumError::Io(e) => BrokerError::Io(e),
        QuorumError::Metadata(e) => BrokerError::Metadata(e),
        other => BrokerError::Quorum(other.to_string()),
    }
}

/// Moves a pre-quorum data directory's metadata (the single-voter
/// `metadata.log` of earlier versions) into the quorum once, then renames
/// the file so it is never imported twice.
async fn import_legacy_metadata(quorum: &Quorum, meta_dir: &Path) -> Result<(), BrokerError> {
    let legacy = meta_dir.join("metadata.log");
    if !legacy.exists() {
        return Ok(());
    }
    let image = quorum.image();
    if image.topics().next().is_none() && image.next_producer_id() == 0 {
        let (_, records) = MetadataLog::open(&legacy)?;
        if !records.is_empty() {
            info!(
                records = records.len(),
                "importing the pre-quorum metadata log"
            );
            quorum
                .write(records, COMMIT_TIMEOUT)
                .await
                .map_err(quorum_error)?;
        }
    }
    fs::rename(&legacy, meta_dir.join("metadata.log.imported"))?;
    Ok(())
}

/// The cluster id every node shares: the first node's `meta.properties` id
/// is committed to the quorum; the others adopt it (the caller rewrites
/// their `meta.properties`), so clients see one cluster whichever node they
/// ask.
async fn adopt_cluster_id(quorum: &Quorum, local: String) -> Result<String, BrokerError> {
    if quorum.image().cluster_id().is_none() {
        match quorum
            .write(
                vec![MetadataRecord::ClusterIdSet {
                    cluster_id: local.clone(),
                }],
                COMMIT_TIMEOUT,
            )
            .await
        {
            Ok(()) | Err(QuorumError::Rejected(_)) => {}
            Err(e) => return Err(quorum_error(e)),
        }
        quorum
            .wait_applied(COMMIT_TIMEOUT)
            .await
            .map_err(quorum_error)?;
    }
    let Some(cluster) = quorum.image().cluster_id().map(str::to_string) else {
        return Ok(local);
    };
    if cluster != local {
        info!(cluster_id = %cluster, previous = %local, "joining the cluster's id");
    }
    Ok(cluster)
}

/// Writes `meta.properties` (tmp file, fsync, rename).
fn write_meta_properties(data_dir: &Path, id: &str, node_id: i32) -> Result<(), BrokerError> {
    let path = data_dir.join("meta.properties");
    let tmp = data_dir.join("meta.properties.tmp");
    fs::write(
        &tmp,
        format!(
            "#\n#{}\nversion=1\ncluster.id={id}\nnode.id={node_id}\n",
            "Written by MemoryStreamer"
        ),
    )?;
    fs::File::open(&tmp)?.sync_all()?;
    fs::rename(&tmp, &path)?;
    Ok(())
}

/// Producer ids are taken from the metadata quorum in blocks of this size.
const PRODUCER_ID_BLOCK: i64 = 1000;

/// A topic creation request after defaults were applied.
#[derive(Debug, Clone)]
pub struct NewTopic {
    /// Topic name.
    pub name: String,
    /// Partition count.
    pub partitions: i32,
    /// Replication factor.
    pub replication_factor: i16,
    /// Config overrides.
    pub configs: Vec<(String, String)>,
    /// Replicas of each partition as the client assigned them, if it did.
    pub assignments: Option<Vec<Vec<i32>>>,
}

struct ProducerIdBlock {
    next: i64,
    end: i64,
}

/// Everything a request handler needs.
pub struct Broker {
    /// Static configuration (file, environment, flags). Settings that can
    /// change at run time are read through [`Broker::effective`].
    pub config: BrokerConfig,
    /// The static configuration with dynamic broker configs applied.
    effective: ArcSwap<BrokerConfig>,
    /// Cluster id from `meta.properties`, stable across restarts.
    pub cluster_id: String,
    metadata: ArcSwap<MetadataImage>,
    quorum: Quorum,
    /// Serialises this node's validate-then-commit metadata changes.
    metadata_writes: tokio::sync::Mutex<()>,
    /// Serialises applying committed images to local state.
    apply_lock: Mutex<()>,
    partitions: DashMap<String, Arc<TopicPartitions>>,
    producer_ids: tokio::sync::Mutex<ProducerIdBlock>,
    /// The group coordinator.
    pub groups: GroupCoordinator,
    /// The transaction coordinator.
    txn: TxnCoordinator,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// True for Kafka's internal topics (`__consumer_offsets`,
/// `__transaction_state`): marked internal in Metadata and
/// DescribeTopicPartitions, never deleted, resized or written by clients.
pub fn is_internal(topic: &str) -> bool {
    topic == OFFSETS_TOPIC || topic == crate::txn::TXN_TOPIC
}

/// Checks a topic name the way Kafka does: 1–249 characters of
/// `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), BrokerError> {
    if name.is_empty() || name == "." || name == ".." {
        return Err(BrokerError::InvalidTopic(format!(
            "topic name '{name}' is illegal"
        )));
    }
    if name.len() > 249 {
        return Err(BrokerError::InvalidTopic(
            "topic name is longer than 249 characters".into(),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(BrokerError::InvalidTopic(format!(
            "topic name '{name}' contains '{c}'; legal characters are ASCII alphanumerics, '.', '_' and '-'"
        )));
    }
    Ok(())
}

impl Broker {
    /// Opens the data directory (formatting it on first start), replays the
    /// metadata log and opens every partition log (recovering torn tails).
    ///
    /// A used data directory whose metadata is damaged or missing is
    /// refused before anything in it changes ([`Quorum::check_dir`]): it is
    /// never silently replaced by an empty one. `meta.properties` is
    /// written only once the quorum holds the cluster id, so a first start
    /// that crashes early is simply a first start again.
    pub async fn open(config: BrokerConfig) -> Result<Self, BrokerError> {
        fs::create_dir_all(&config.data_dir)?;
        let meta_dir = config.data_dir.join("__cluster_metadata-0");
        let stored_id = read_meta_properties(&config.data_dir, config.node_id)?;
        let formatted = stored_id.is_some() || has_partition_dirs(&config.data_dir)?;
        Quorum::check_dir(&meta_dir, formatted)?;
        let cluster_id = stored_id.clone().unwrap_or_else(new_cluster_id);
        remove_leftover_deletions(&config.data_dir);
        let node_id = u64::try_from(config.node_id)
            .map_err(|_| BrokerError::Config("node.id must not be negative".into()))?;
        let single = config.quorum_voters.len() == 1;
        let quorum = Quorum::start(QuorumConfig {
            node_id,
            dir: meta_dir.clone(),
            listen: config.controller_listener.clone(),
            voters: config.quorum_voters.clone(),
            heartbeat: Duration::from_millis(if single { 50 } else { 100 }),
            session_timeout: config.broker_session_timeout,
        })
        .await
        .map_err(quorum_error)?;
        // Catch up with the quorum before serving (waits for a leader: the
        // other voters may still be starting).
        let mut waited = Duration::ZERO;
        while let Err(e) = quorum.wait_applied(Duration::from_secs(5)).await {
            waited += Duration::from_secs(5);
            if waited >= Duration::from_secs(300) {
                return Err(quorum_error(e));
            }
            info!(voters = ?config.quorum_voters, "waiting for the metadata quorum: {e}");
        }
        import_legacy_metadata(&quorum, &meta_dir).await?;
        let cluster_id = adopt_cluster_id(&quorum, cluster_id).await?;
        if stored_id.as_deref() != Some(cluster_id.as_str()) {
            write_meta_properties(&config.data_dir, &cluster_id, config.node_id)?;
            if stored_id.is_none() {
                info!(cluster_id = %cluster_id, dir = %config.data_dir.display(), "formatted new data directory");
            }
        }
        let groups = GroupCoordinator::new(config.group.clone(), config.offsets_topic_partitions);
        let txn = TxnCoordinator::new(
            config.txn.state_log_partitions,
            config.txn.max_timeout_ms,
            config.txn.transactional_id_expiration_ms,
        );
        let effective = config.clone();
        let broker = Broker {
            config,
            effective: ArcSwap::from_pointee(effective),
            cluster_id,
            metadata: ArcSwap::from_pointee(MetadataImage::default()),
            quorum,
            metadata_writes: tokio::sync::Mutex::new(()),
            apply_lock: Mutex::new(()),
            partitions: DashMap::new(),
            // Producer ids come in blocks from the metadata quorum; a block
            // partly used before a restart is abandoned.
            producer_ids: tokio::sync::Mutex::new(ProducerIdBlock { next: 0, end: 0 }),
            groups,
            txn,
        };
        broker.sync_image()?;
        broker.register().await?;
        if broker.config.quorum_voters.len() == 1 {
            // A multi-node cluster creates it on the first FindCoordinator,
            // once the brokers are registered, so it spreads over them.
            broker.ensure_offsets_topic().await?;
        }
        broker.groups.load(&broker)?;
        broker.txn.load(&broker)?;
        let image = broker.metadata();
        info!(
            cluster_id = %broker.cluster_id,
            node_id = broker.config.node_id,
            topics = image.topics().count(),
            "data directory opened"
        );
        Ok(broker)
    }

    /// Commits `records` through the metadata quorum and applies the result
    /// here before returning, so the caller's next request sees it.
    async fn commit(&self, records: Vec<MetadataRecord>) -> Result<(), BrokerError> {
        self.quorum
            .write(records, COMMIT_TIMEOUT)
            .await
            .map_err(quorum_error)?;
        self.quorum
            .wait_applied(COMMIT_TIMEOUT)
            .await
            .map_err(quorum_error)?;
        self.sync_image()
    }

    /// Makes local state match the quorum's latest image: retires topics
    /// that are gone, opens partitions that are new, reconfigures changed
    /// topics and broker configs, then publishes the image. Idempotent;
    /// called after local commits and by the watcher for remote ones. A
    /// partition that cannot be opened is reported and the rest applied.
    pub fn sync_image(&self) -> Result<(), BrokerError> {
        let _guard = lock(&self.apply_lock);
        let new = self.quorum.image();
        let old = self.metadata();
        if Arc::ptr_eq(&new, &old) {
            return Ok(());
        }
        let mut first_error = None;
        for t in old.topics() {
            if new.topic(&t.name).is_none_or(|n| n.topic_id != t.topic_id) {
                if let Err(e) = self.retire_topic(t) {
                    first_error.get_or_insert(e);
                }
            }
        }
        let mut reconfigure = Vec::new();
        for t in new.topics() {
            let result = match old.topic(&t.name) {
                Some(o) if o.topic_id == t.topic_id => {
                    if t.configs != o.configs {
                        reconfigure.push(t.name.clone());
                    }
                    if t.partitions.len() > o.partitions.len() {
                        self.open_added_partitions(t, o.partitions.len())
                    } else {
                        Ok(())
                    }
                }
                _ => self.open_topic(t),
            };
            if let Err(e) = result {
                warn!(topic = %t.name, error = %e, "cannot open partitions of a committed topic");
                first_error.get_or_insert(e);
            }
        }
        let node = self.config.node_id.to_string();
        let broker_configs_changed = new.broker_configs("") != old.broker_configs("")
            || new.broker_configs(&node) != old.broker_configs(&node);
        self.metadata.store(Arc::clone(&new));
        if broker_configs_changed {
            match self
                .config
                .with_dynamic(new.broker_configs(""), new.broker_configs(&node))
            {
                Ok(c) => self.effective.store(Arc::new(c)),
                Err(e) => warn!(error = %e, "ignoring committed dynamic broker configs"),
            }
            self.reconfigure_all();
        } else {
            for name in reconfigure {
                self.reconfigure_topic(&name);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Registers this broker's advertised Kafka listener with the cluster
    /// (again whenever it changed), which also unfences it.
    async fn register(&self) -> Result<(), BrokerError> {
        let Some(l) = self.config.advertised_listeners.first() else {
            return Err(BrokerError::Config("no advertised listener".into()));
        };
        let node = self.config.node_id;
        let current = self.metadata();
        let up_to_date = current
            .broker(node)
            .is_some_and(|b| b.host == l.host && b.port == i32::from(l.port) && !b.fenced);
        if !up_to_date {
            self.commit(vec![MetadataRecord::BrokerRegistered {
                node_id: node,
                host: l.host.clone(),
                port: i32::from(l.port),
            }])
            .await?;
            info!(node_id = node, host = %l.host, port = l.port, "broker registered");
        }
        Ok(())
    }

    /// Live brokers as (node id, host, port): registered and not fenced.
    pub fn live_brokers(&self) -> Vec<(i32, String, i32)> {
        let image = self.metadata();
        let live: Vec<(i32, String, i32)> = image
            .brokers()
            .filter(|b| !b.fenced)
            .map(|b| (b.node_id, b.host.clone(), b.port))
            .collect();
        if live.is_empty() {
            // Before the registration is committed: this node only.
            return self
                .config
                .advertised_listeners
                .first()
                .map(|l| vec![(self.config.node_id, l.host.clone(), i32::from(l.port))])
                .unwrap_or_default();
        }
        live
    }

    /// The controller id clients are given (Metadata, DescribeCluster's
    /// broker endpoints). As in Kafka's KRaft mode this is a live broker,
    /// not the quorum leader: any broker accepts admin requests and
    /// forwards the metadata change to the quorum leader, so naming this
    /// node, which the client has just reached, never sends a client to a
    /// dead or fenced node. A fenced node names another live broker; -1
    /// when it knows none.
    /// `live` is [`Broker::live_brokers`], which the callers list anyway.
    pub fn controller_id(&self, live: &[(i32, String, i32)]) -> i32 {
        if live.iter().any(|(id, ..)| *id == self.config.node_id) {
            return self.config.node_id;
        }
        live.first().map_or(-1, |(id, ..)| *id)
    }

    /// The active controller (the quorum leader) when this node knows one
    /// that is not fenced, else -1 (DescribeCluster's controller
    /// endpoints).
    pub fn active_controller_id(&self, live: &[(i32, String, i32)]) -> i32 {
        let Some(leader) = self.quorum.leader().and_then(|l| i32::try_from(l).ok()) else {
            return -1;
        };
        if live.iter().any(|(id, ..)| *id == leader) {
            leader
        } else {
            -1
        }
    }

    /// The leader of a partition as clients should see it: -1 when its
    /// broker is fenced (with one replica the partition is offline until
    /// that broker is back).
    pub fn effective_leader(image: &MetadataImage, leader: i32) -> i32 {
        match image.broker(leader) {
            Some(b) if b.fenced => -1,
            _ => leader,
        }
    }

    /// The coordinator of `group`: the broker leading its
    /// `__consumer_offsets` partition (created on first use in a cluster).
    pub async fn group_coordinator(&self, group: &str) -> Result<(i32, String, i32), BrokerError> {
        if self.metadata().topic(OFFSETS_TOPIC).is_none() {
            self.ensure_offsets_topic().await?;
        }
        self.leader_address(OFFSETS_TOPIC, self.groups.partition_of(group))
    }

    /// True when the cluster has partition `index` of `topic`, wherever it
    /// is hosted (what OffsetCommit and AddPartitionsToTxn accept).
    pub fn partition_exists(&self, topic: &str, index: i32) -> bool {
        self.metadata()
            .topic(topic)
            .is_some_and(|t| usize::try_from(index).is_ok_and(|i| i < t.partitions.len()))
    }

    /// The transaction coordinator.
    pub fn txn(&self) -> &TxnCoordinator {
        &self.txn
    }

    /// The coordinator of `transactional_id`: the broker leading its
    /// `__transaction_state` partition (the topic is created on first use).
    pub async fn txn_coordinator(
        &self,
        transactional_id: &str,
    ) -> Result<(i32, String, i32), BrokerError> {
        if self.metadata().topic(TXN_TOPIC).is_none() {
            self.ensure_internal_topic(
                TXN_TOPIC,
                self.config.txn.state_log_partitions,
                self.config.txn.state_log_segment_bytes,
            )
            .await?;
        }
        self.leader_address(TXN_TOPIC, self.txn.partition_of(transactional_id))
    }

    /// Host and port of the leader of a partition (for coordinators).
    fn leader_address(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<(i32, String, i32), BrokerError> {
        let image = self.metadata();
        let leader = image
            .topic(topic)
            .and_then(|t| {
                usize::try_from(partition)
                    .ok()
                    .and_then(|i| t.partitions.get(i))
            })
            .map(|p| p.leader)
            .ok_or(BrokerError::CoordinatorNotAvailable)?;
        match image.broker(leader) {
            Some(b) if !b.fenced => Ok((b.node_id, b.host.clone(), b.port)),
            _ if leader == self.config.node_id => self
                .config
                .advertised_listeners
                .first()
                .map(|l| (leader, l.host.clone(), i32::from(l.port)))
                .ok_or(BrokerError::CoordinatorNotAvailable),
            _ => Err(BrokerError::CoordinatorNotAvailable),
        }
    }

    /// Writes a COMMIT or ABORT marker for `producer_id` into a local
    /// partition, and lets the group coordinator settle transactional
    /// offset commits when it is an offsets partition.
    pub fn write_txn_marker(
        &self,
        topic: &str,
        partition: i32,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        coordinator_epoch: i32,
    ) -> Result<(), BrokerError> {
        let p = self.local_partition(topic, partition)?;
        let kind = if commit {
            memorystreamer_log::ControlType::Commit
        } else {
            memorystreamer_log::ControlType::Abort
        };
        let batch = memorystreamer_log::txn::marker_batch(
            producer_id,
            epoch,
            kind,
            coordinator_epoch,
            crate::now_ms(),
        );
        match p.append_control(&batch) {
            Ok(_) => {}
            Err(BrokerError::Log(memorystreamer_log::LogError::ProducerFenced { .. })) => {
                // A newer epoch already wrote here: this transaction was
                // ended by a later marker; nothing is left to end (Kafka
                // likewise stops sending on INVALID_PRODUCER_EPOCH).
                warn!(
                    topic,
                    partition,
                    producer_id,
                    epoch,
                    "transaction marker fenced by a newer epoch; skipped"
                );
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        crate::metrics::txn_marker(commit);
        if topic == OFFSETS_TOPIC {
            self.groups.complete_txn(partition, producer_id, commit);
        }
        Ok(())
    }

    /// Writes the markers of a transaction to every partition in it: local
    /// ones directly, the others with WriteTxnMarkers to their leaders.
    /// Partitions of deleted topics are skipped.
    pub async fn write_txn_markers(
        &self,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        partitions: &std::collections::BTreeSet<(String, i32)>,
    ) -> Result<(), BrokerError> {
        use kafka_protocol::messages::write_txn_markers_request::{
            WritableTxnMarker, WritableTxnMarkerTopic,
        };
        use kafka_protocol::messages::{
            ApiKey, TopicName, WriteTxnMarkersRequest, WriteTxnMarkersResponse,
        };
        let image = self.metadata();
        let mut remote: std::collections::BTreeMap<i32, std::collections::BTreeSet<(String, i32)>> =
            std::collections::BTreeMap::new();
        for (topic, index) in partitions {
            let Some(t) = image.topic(topic) else {
                continue;
            };
            let Some(leader) = usize::try_from(*index)
                .ok()
                .and_then(|i| t.partitions.get(i))
                .map(|p| p.leader)
            else {
                continue;
            };
            if leader == self.config.node_id {
                match self.write_txn_marker(
                    topic,
                    *index,
                    producer_id,
                    epoch,
                    commit,
                    crate::txn::COORDINATOR_EPOCH,
                ) {
                    Ok(()) => {}
                    Err(BrokerError::UnknownTopicOrPartition) => {}
                    Err(e) => return Err(e),
                }
            } else {
                remote
                    .entry(leader)
                    .or_default()
                    .insert((topic.clone(), *index));
            }
        }
        for (node, parts) in remote {
            let b = image
                .broker(node)
                .filter(|b| !b.fenced)
                .ok_or(BrokerError::NotLeaderOrFollower)?;
            let topics = crate::txn::by_topic(&parts)
                .into_iter()
                .map(|(t, ps)| {
                    WritableTxnMarkerTopic::default()
                        .with_name(TopicName(crate::util::sb(&t)))
                        .with_partition_indexes(ps)
                })
                .collect();
            let req =
                WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
                    .with_producer_id(kafka_protocol::messages::ProducerId(producer_id))
                    .with_producer_epoch(epoch)
                    .with_transaction_result(commit)
                    .with_coordinator_epoch(crate::txn::COORDINATOR_EPOCH)
                    .with_topics(topics)]);
            let resp: WriteTxnMarkersResponse = crate::interbroker::call(
                &b.host,
                b.port,
                ApiKey::WriteTxnMarkers,
                1,
                &req,
                Duration::from_secs(10),
            )
            .await?;
            for m in &resp.markers {
                for t in &m.topics {
                    for p in &t.partitions {
                        let e = kafka_protocol::ResponseError::try_from_code(p.error_code);
                        match e {
                            None | Some(kafka_protocol::ResponseError::UnknownTopicOrPartition) => {
                            }
                            Some(e) => {
                                return Err(BrokerError::InvalidRequest(format!(
                                    "WriteTxnMarkers to node {node} failed for {}-{}: {e:?}",
                                    t.name.as_str(),
                                    p.partition_index
                                )))
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// True when this broker coordinates `group` (hosts its offsets partition).
    pub fn is_coordinator(&self, group: &str) -> bool {
        self.partition(OFFSETS_TOPIC, self.groups.partition_of(group))
            .is_some()
    }

    /// The metadata quorum member of this node.
    pub fn quorum(&self) -> &Quorum {
        &self.quorum
    }

    /// Creates `__consumer_offsets` (compacted, `offsets.topic.num.partitions`)
    /// on first start.
    async fn ensure_offsets_topic(&self) -> Result<(), BrokerError> {
        self.ensure_internal_topic(
            OFFSETS_TOPIC,
            self.config.offsets_topic_partitions,
            self.config.offsets_topic_segment_bytes,
        )
        .await
    }

    /// Creates an internal compacted topic unless it exists.
    async fn ensure_internal_topic(
        &self,
        name: &str,
        partitions: i32,
        segment_bytes: u64,
    ) -> Result<(), BrokerError> {
        if self.metadata().topic(name).is_some() {
            return Ok(());
        }
        let t = NewTopic {
            name: name.to_string(),
            partitions,
            replication_factor: 1,
            assignments: None,
            configs: vec![
                ("cleanup.policy".into(), "compact".into()),
                ("segment.bytes".into(), segment_bytes.to_string()),
                ("compression.type".into(), "producer".into()),
            ],
        };
        match self.create_topic(&t, false).await {
            // Another node created it first.
            Ok(_) | Err(BrokerError::TopicAlreadyExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The configuration in effect now: static settings with dynamic broker
    /// configs applied (cheap: no lock, no allocation).
    pub fn effective(&self) -> arc_swap::Guard<Arc<BrokerConfig>> {
        self.effective.load()
    }

    /// Dynamic broker configs of `resource` (`""`: cluster default, else
    /// a node id).
    pub fn dynamic_broker_configs(&self, resource: &str) -> Vec<(String, String)> {
        self.metadata().broker_configs(resource).to_vec()
    }

    /// Replaces the dynamic broker configs of `resource` (`""` for the
    /// cluster default or this node's id): validated against the whole
    /// configuration, durable in the metadata log, then applied to every
    /// partition whose topic does not override the changed defaults.
    pub async fn alter_broker_configs(
        &self,
        resource: &str,
        configs: Vec<(String, String)>,
        validate_only: bool,
    ) -> Result<(), BrokerError> {
        let node = self.config.node_id.to_string();
        if !(resource.is_empty() || resource == node) {
            return Err(BrokerError::InvalidRequest(format!(
                "unknown broker '{resource}' (this is node {node})"
            )));
        }
        // Kafka's rules, shared by AlterConfigs and IncrementalAlterConfigs.
        crate::config::keys::validate_dynamic(&configs, resource.is_empty())?;
        let _writes = self.metadata_writes.lock().await;
        let image = self.metadata();
        let (default, per_broker) = if resource.is_empty() {
            (configs.clone(), image.broker_configs(&node).to_vec())
        } else {
            (image.broker_configs("").to_vec(), configs.clone())
        };
        self.config.with_dynamic(&default, &per_broker)?;
        let rec = MetadataRecord::BrokerConfigChanged {
            resource: resource.to_string(),
            configs: configs.clone(),
        };
        image.apply(&rec)?;
        if validate_only {
            return Ok(());
        }
        self.commit(vec![rec]).await?;
        info!(resource = %resource, ?configs, "dynamic broker configs changed");
        Ok(())
    }

    /// Re-derives every partition's settings (after a broker default changed).
    fn reconfigure_all(&self) {
        let image = self.metadata();
        for topic in image.topics() {
            self.reconfigure_topic(&topic.name);
        }
    }

    /// Re-derives the settings of one topic's partitions from the image.
    fn reconfigure_topic(&self, name: &str) {
        let image = self.metadata();
        let Some(topic) = image.topic(name) else {
            return;
        };
        let tc = match TopicConfig::parse_stored(&topic.configs) {
            Ok(tc) => tc,
            Err(e) => {
                warn!(topic = %name, error = %e, "committed topic configs do not parse");
                return;
            }
        };
        let settings = self.partition_settings(&tc);
        if let Some(t) = self.topic(name) {
            for p in t.partitions.iter().flatten() {
                p.reconfigure(&settings, self.log_config(&tc));
            }
        }
    }

    /// Opens partitions `from..` of a grown topic and adds them to the map.
    fn open_added_partitions(&self, topic: &TopicImage, from: usize) -> Result<(), BrokerError> {
        let added = self.open_partitions(topic, from)?;
        let mut partitions = self
            .topic(&topic.name)
            .map(|t| t.partitions.clone())
            .unwrap_or_default();
        partitions.extend(added);
        self.partitions.insert(
            topic.name.clone(),
            Arc::new(TopicPartitions {
                topic_id: topic.topic_id,
                partitions,
            }),
        );
        info!(topic = %topic.name, from, to = topic.partitions.len(), "partitions added");
        Ok(())
    }

    /// Takes a deleted topic's partitions out of service and deletes their
    /// data in the background: each directory is renamed to a delete
    /// directory (see [`delete_dir_name`]) and removed by a thread. When the
    /// rename fails the directory is removed in place; when that fails too
    /// the error is returned (the client sees it) so that old data is never
    /// silently left for a re-created topic of the same name to pick up.
    fn retire_topic(&self, topic: &TopicImage) -> Result<(), BrokerError> {
        let name = &topic.name;
        let topic_id = topic.topic_id;
        self.partitions.remove(name);
        let mut first_error = None;
        for p in &topic.partitions {
            let dir = self.partition_dir(name, p.partition);
            let doomed = self
                .config
                .data_dir
                .join(delete_dir_name(name, p.partition, topic_id));
            match fs::rename(&dir, &doomed) {
                Ok(()) => {
                    std::thread::spawn(move || {
                        if let Err(e) = fs::remove_dir_all(&doomed) {
                            warn!(dir = %doomed.display(), error = %e, "could not remove deleted partition");
                        }
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    warn!(dir = %dir.display(), error = %e, "could not move deleted partition away; removing it in place");
                    if let Err(e) = fs::remove_dir_all(&dir) {
                        warn!(dir = %dir.display(), error = %e, "could not remove deleted partition");
                        first_error.get_or_insert(BrokerError::Io(e));
                    }
                }
            }
        }
        info!(topic = %name, %topic_id, "topic deleted");
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The current metadata image.
    pub fn metadata(&self) -> Arc<MetadataImage> {
        self.metadata.load_full()
    }

    /// Partitions of `topic`, if hosted here.
    pub fn topic(&self, topic: &str) -> Option<Arc<TopicPartitions>> {
        self.partitions.get(topic).map(|t| Arc::clone(t.value()))
    }

    /// One partition, if hosted here.
    pub fn partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        let t = self.partitions.get(topic)?;
        usize::try_from(index)
            .ok()
            .and_then(|i| t.partitions.get(i))
            .and_then(Option::clone)
    }

    /// A partition hosted here, or why not: NOT_LEADER_OR_FOLLOWER when the
    /// topic has it on another broker (clients refresh metadata and go
    /// there), UNKNOWN_TOPIC_OR_PARTITION when it does not exist.
    pub fn local_partition(&self, topic: &str, index: i32) -> Result<Arc<Partition>, BrokerError> {
        if let Some(p) = self.partition(topic, index) {
            return Ok(p);
        }
        let image = self.metadata();
        let exists = image
            .topic(topic)
            .is_some_and(|t| usize::try_from(index).is_ok_and(|i| i < t.partitions.len()));
        Err(if exists {
            BrokerError::NotLeaderOrFollower
        } else {
            BrokerError::UnknownTopicOrPartition
        })
    }

    /// Every partition hosted here.
    pub fn all_partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions
            .iter()
            .flat_map(|t| t.partitions.iter().flatten().cloned().collect::<Vec<_>>())
            .collect()
    }

    fn partition_dir(&self, topic: &str, index: i32) -> PathBuf {
        self.config.data_dir.join(format!("{topic}-{index}"))
    }

    fn log_config(&self, topic_config: &TopicConfig) -> LogConfig {
        let eff = self.effective();
        let d = &eff.log;
        LogConfig {
            segment_bytes: topic_config.segment_bytes.unwrap_or(d.segment_bytes),
            segment_ms: Some(topic_config.segment_ms.unwrap_or(d.segment_ms)),
            index_interval_bytes: topic_config
                .index_interval_bytes
                .unwrap_or(d.index_interval_bytes),
            index_max_bytes: d.index_max_bytes,
            flush_messages: topic_config.flush_messages.or(d.flush_messages),
            flush_ms: topic_config.flush_ms.or(d.flush_ms),
        }
    }

    /// The settings a partition enforces on produce: the topic's overrides,
    /// else the broker's defaults.
    fn partition_settings(&self, tc: &TopicConfig) -> PartitionSettings {
        let eff = self.effective();
        let d = &eff.log;
        PartitionSettings {
            max_message_bytes: tc
                .max_message_bytes
                .unwrap_or(self.effective().message_max_bytes),
            compacted: self.cleanup_policy(tc).1,
            log_append_time: tc.log_append_time.unwrap_or_else(|| {
                crate::topic_config::parse_timestamp_type(&d.message_timestamp_type)
                    .unwrap_or(false)
            }),
            compression: tc.compression.unwrap_or_else(|| {
                crate::topic_config::parse_compression(&d.compression_type).unwrap_or(None)
            }),
        }
    }

    /// A topic's effective `cleanup.policy` as (delete, compact).
    pub fn cleanup_policy(&self, tc: &TopicConfig) -> (bool, bool) {
        tc.cleanup_policy.unwrap_or_else(|| {
            crate::topic_config::parse_cleanup_policy(&self.effective().log.cleanup_policy)
                .unwrap_or((true, false))
        })
    }

    /// A topic's effective compaction settings.
    pub fn compaction_config(&self, tc: &TopicConfig) -> memorystreamer_log::CompactionConfig {
        let eff = self.effective();
        let d = &eff.log;
        memorystreamer_log::CompactionConfig {
            delete_retention_ms: tc.delete_retention_ms.unwrap_or(d.delete_retention_ms),
            min_compaction_lag_ms: tc.min_compaction_lag_ms.unwrap_or(d.min_compaction_lag_ms),
            max_compaction_lag_ms: tc.max_compaction_lag_ms.unwrap_or(d.max_compaction_lag_ms),
            min_cleanable_dirty_ratio: tc
                .min_cleanable_dirty_ratio
                .unwrap_or(d.min_cleanable_ratio),
            // Kafka's map spends 24 bytes per entry (16-byte digest + offset).
            max_map_entries: (d.cleaner_dedupe_buffer_size / 24).max(1) as usize,
            max_decompressed_bytes: crate::partition::MAX_DECOMPRESSED_BYTES,
            io_max_bytes_per_second: d.cleaner_io_max_bytes_per_second,
        }
    }

    fn open_topic(&self, topic: &TopicImage) -> Result<(), BrokerError> {
        let partitions = self.open_partitions(topic, 0)?;
        self.partitions.insert(
            topic.name.clone(),
            Arc::new(TopicPartitions {
                topic_id: topic.topic_id,
                partitions,
            }),
        );
        Ok(())
    }

    /// Opens the logs of `topic`'s partitions from index `from` on.
    fn open_partitions(
        &self,
        topic: &TopicImage,
        from: usize,
    ) -> Result<Vec<Option<Arc<Partition>>>, BrokerError> {
        let tc = TopicConfig::parse_stored(&topic.configs)?;
        let settings = self.partition_settings(&tc);
        let metrics =
            crate::metrics::TopicMetrics::new(&topic.name, self.config.metrics_topic_labels);
        let mut partitions = Vec::with_capacity(topic.partitions.len().saturating_sub(from));
        for p in topic.partitions.iter().skip(from) {
            if !p.replicas.contains(&self.config.node_id) {
                partitions.push(None);
                continue;
            }
            let log = Log::open(
                &self.partition_dir(&topic.name, p.partition),
                self.log_config(&tc),
            )?;
            partitions.push(Some(Arc::new(Partition::new(
                topic.name.clone(),
                topic.topic_id,
                p.partition,
                p.leader_epoch,
                log,
                settings.clone(),
                metrics.clone(),
            ))));
        }
        Ok(partitions)
    }

    /// A topic's configs as DescribeConfigs reports them: every key Kafka
    /// defines with its effective value and whether it is an override.
    pub fn topic_config_values(
        &self,
        topic: &TopicImage,
    ) -> Vec<(&'static ConfigDef, String, bool)> {
        TOPIC_CONFIGS
            .iter()
            .map(|d| match topic.configs.iter().find(|(k, _)| k == d.name) {
                Some((_, v)) => (d, v.clone(), true),
                None => (d, self.topic_config_default(d), false),
            })
            .collect()
    }

    /// The value a topic config has when not overridden: the broker's
    /// setting where one applies, else Kafka's default.
    pub fn topic_config_default(&self, d: &ConfigDef) -> String {
        let eff = self.effective();
        let l = &eff.log;
        let max = i64::MAX.to_string();
        match d.name {
            "segment.bytes" => l.segment_bytes.to_string(),
            "segment.ms" => l.segment_ms.as_millis().to_string(),
            "index.interval.bytes" => l.index_interval_bytes.to_string(),
            "segment.index.bytes" => l.index_max_bytes.to_string(),
            "flush.messages" => l.flush_messages.map(|n| n.to_string()).unwrap_or(max),
            "flush.ms" => l.flush_ms.map(|d| d.as_millis().to_string()).unwrap_or(max),
            "max.message.bytes" => eff.message_max_bytes.to_string(),
            "retention.ms" => l.retention_ms.to_string(),
            "retention.bytes" => l.retention_bytes.to_string(),
            "cleanup.policy" => l.cleanup_policy.clone(),
            "delete.retention.ms" => l.delete_retention_ms.to_string(),
            "min.compaction.lag.ms" => l.min_compaction_lag_ms.to_string(),
            "max.compaction.lag.ms" => l.max_compaction_lag_ms.to_string(),
            "min.cleanable.dirty.ratio" => l.min_cleanable_ratio.to_string(),
            "message.timestamp.type" => l.message_timestamp_type.clone(),
            "compression.type" => l.compression_type.clone(),
            // A broker key MemoryStreamer does not read: as set (dynamic
            // per-broker, cluster default, static), else Kafka's default.
            _ => d
                .broker_key
                .and_then(|bk| {
                    let node = self.config.node_id.to_string();
                    let dynamic = |r: &str| {
                        self.dynamic_broker_configs(r)
                            .into_iter()
                            .find(|(k, _)| k == bk)
                            .map(|(_, v)| v)
                    };
                    dynamic(&node)
                        .or_else(|| dynamic(""))
                        .or_else(|| self.config.props.get(bk).cloned())
                })
                .unwrap_or_else(|| d.default.to_string()),
        }
    }

    /// Replaces a topic's config overrides (validated; durable before they
    /// take effect on its partitions). With `validate_only` nothing changes.
    pub async fn alter_topic_configs(
        &self,
        name: &str,
        configs: Vec<(String, String)>,
        validate_only: bool,
    ) -> Result<(), BrokerError> {
        TopicConfig::parse(&configs)?;
        let _writes = self.metadata_writes.lock().await;
        let image = self.metadata();
        let topic = image
            .topic(name)
            .ok_or(BrokerError::UnknownTopicOrPartition)?;
        let rec = MetadataRecord::TopicConfigChanged {
            topic_id: topic.topic_id,
            configs: configs.clone(),
        };
        image.apply(&rec)?;
        if validate_only {
            return Ok(());
        }
        self.commit(vec![rec]).await?;
        info!(topic = %name, ?configs, "topic configs changed");
        Ok(())
    }

    /// CreatePartitions: grows `name` to `count` partitions. `assignments`
    /// (one replica list per new partition) must name live brokers. With
    /// `validate_only` nothing is written.
    pub async fn create_partitions(
        &self,
        name: &str,
        count: i32,
        assignments: Option<&[Vec<i32>]>,
        validate_only: bool,
    ) -> Result<(), BrokerError> {
        if is_internal(name) {
            return Err(BrokerError::InvalidRequest(format!(
                "the partition count of internal topic {name} is fixed"
            )));
        }
        let _writes = self.metadata_writes.lock().await;
        let image = self.metadata();
        let topic = image
            .topic(name)
            .ok_or(BrokerError::UnknownTopicOrPartition)?;
        let current = topic.partitions.len() as i32;
        if count <= current {
            return Err(BrokerError::InvalidPartitions(format!(
                "topic currently has {current} partitions, which is higher than or equal to the requested {count}"
            )));
        }
        if count - current > crate::limits::MAX_PARTITIONS_PER_REQUEST {
            return Err(BrokerError::PolicyViolation(format!(
                "excessively large number of partitions per request: {} (the limit is {})",
                count - current,
                crate::limits::MAX_PARTITIONS_PER_REQUEST
            )));
        }
        if let Some(a) = assignments {
            if a.len() as i32 != count - current {
                return Err(BrokerError::InvalidReplicaAssignment(format!(
                    "{} assignments given for {} new partitions",
                    a.len(),
                    count - current
                )));
            }
        }
        self.check_placement(
            &image,
            current..count,
            topic.replication_factor,
            assignments,
        )?;
        let records = vec![MetadataRecord::PartitionsPlaced {
            topic_id: topic.topic_id,
            first: current,
            count: count - current,
            replication_factor: topic.replication_factor,
            assignments: assignments.map(<[Vec<i32>]>::to_vec).unwrap_or_default(),
            fallback: self.config.node_id,
        }];
        let next = image.apply_all(&records)?;
        self.check_capacity(&image, &next)?;
        if validate_only {
            return Ok(());
        }
        self.commit(records).await.map_err(placement_error)?;
        Ok(())
    }

    /// Checks a placement request against this node's image so that the
    /// client gets Kafka's error codes: the client's assignment (every
    /// broker registered, `rf` distinct replicas each) or enough live
    /// brokers for `rf`. Replication factors above 1 are refused until
    /// replication exists: a second copy that is never written would be a
    /// lie about durability.
    ///
    /// The placement itself is not decided here: the committed
    /// `PartitionsPlaced` record is expanded by the state machine when the
    /// log applies it (round-robin over the brokers live at that log
    /// position), so every node computes the same replicas and a stale view
    /// on the receiving node cannot place on a broker fenced meanwhile.
    fn check_placement(
        &self,
        image: &MetadataImage,
        range: std::ops::Range<i32>,
        rf: i16,
        manual: Option<&[Vec<i32>]>,
    ) -> Result<Vec<Vec<i32>>, BrokerError> {
        if let Some(a) = manual {
            for (i, replicas) in a.iter().enumerate() {
                let p = range.start + i as i32;
                if replicas.is_empty() || replicas.len() as i16 != rf {
                    return Err(BrokerError::InvalidReplicaAssignment(format!(
                        "partition {p} must have {rf} replica(s)"
                    )));
                }
                if let Some(b) = replicas.iter().find(|b| image.broker(**b).is_none()) {
                    return Err(BrokerError::InvalidReplicaAssignment(format!(
                        "broker {b} of partition {p} does not exist"
                    )));
                }
                let mut seen = replicas.clone();
                seen.sort_unstable();
                seen.dedup();
                if seen.len() != replicas.len() {
                    return Err(BrokerError::InvalidReplicaAssignment(format!(
                        "partition {p} lists a broker twice"
                    )));
                }
            }
            if rf > 1 {
                return Err(replicas_unsupported(rf));
            }
            return Ok(a.to_vec());
        }
        let mut live = image.live_brokers();
        if live.is_empty() {
            // Before this node's registration is committed (first start).
            live.push(self.config.node_id);
        }
        if rf as usize > live.len() {
            return Err(BrokerError::InvalidReplicationFactor(format!(
                "replication factor: {rf} larger than available brokers: {}",
                live.len()
            )));
        }
        if rf > 1 {
            return Err(replicas_unsupported(rf));
        }
        let n = live.len();
        Ok(range
            .map(|p| {
                (0..rf as usize)
                    .map(|i| live[(p as usize + i) % n])
                    .collect()
            })
            .collect())
    }

    /// Refuses a placement that would put more partitions on a broker than
    /// its process can open (see [`crate::limits`]), before anything is
    /// committed: a committed partition that cannot be opened would stop
    /// every later start. The partitions added on this node are checked
    /// against what is really still free here (open segments counted);
    /// every broker's total against this node's limits (brokers are
    /// assumed to share them).
    fn check_capacity(&self, now: &MetadataImage, next: &MetadataImage) -> Result<(), BrokerError> {
        fn hosted(image: &MetadataImage) -> HashMap<i32, u64> {
            let mut hosted: HashMap<i32, u64> = HashMap::new();
            for t in image.topics() {
                for p in &t.partitions {
                    for r in &p.replicas {
                        *hosted.entry(*r).or_default() += 1;
                    }
                }
            }
            hosted
        }
        let refuse = |node: i32, n: u64, room: u64, what: &str| {
            BrokerError::PolicyViolation(format!(
                "broker {node} would {what} {n} partitions, more than the {room} its open-file \
                 limit and vm.max_map_count allow ({} files and {} maps per partition); \
                 raise `ulimit -n` or add brokers",
                crate::limits::FDS_PER_PARTITION,
                crate::limits::MAPS_PER_PARTITION
            ))
        };
        let (before, after) = (hosted(now), hosted(next));
        let me = self.config.node_id;
        let added = after
            .get(&me)
            .copied()
            .unwrap_or(0)
            .saturating_sub(before.get(&me).copied().unwrap_or(0));
        let free = crate::limits::free_partition_slots();
        if added > free {
            return Err(refuse(me, added, free, "open another"));
        }
        let capacity = crate::limits::partition_capacity();
        match after.into_iter().max_by_key(|(_, n)| *n) {
            Some((node, n)) if n > capacity => Err(refuse(node, n, capacity, "host")),
            _ => Ok(()),
        }
    }

    /// Creates a topic: validates, writes the metadata records, opens the
    /// partition logs. With `validate_only` nothing is written.
    pub async fn create_topic(
        &self,
        t: &NewTopic,
        validate_only: bool,
    ) -> Result<Arc<TopicImage>, BrokerError> {
        validate_topic_name(&t.name)?;
        if t.partitions < 1 {
            return Err(BrokerError::InvalidPartitions(format!(
                "number of partitions must be at least 1, got {}",
                t.partitions
            )));
        }
        if t.partitions > crate::limits::MAX_PARTITIONS_PER_REQUEST {
            return Err(BrokerError::PolicyViolation(format!(
                "excessively large number of partitions per request: {} (the limit is {})",
                t.partitions,
                crate::limits::MAX_PARTITIONS_PER_REQUEST
            )));
        }
        if t.replication_factor < 1 {
            return Err(BrokerError::InvalidReplicationFactor(format!(
                "replication factor must be at least 1, got {}",
                t.replication_factor
            )));
        }
        TopicConfig::parse(&t.configs)?;
        check_free_space(&self.config.data_dir)?;
        let _writes = self.metadata_writes.lock().await;
        let image = self.metadata();
        if image.topic(&t.name).is_some() {
            return Err(BrokerError::TopicAlreadyExists(t.name.clone()));
        }
        self.check_placement(
            &image,
            0..t.partitions,
            t.replication_factor,
            t.assignments.as_deref(),
        )?;
        let topic_id = Uuid::new_v4();
        let mut records = vec![MetadataRecord::TopicCreated {
            topic_id,
            name: t.name.clone(),
            partitions: t.partitions,
            replication_factor: t.replication_factor,
            configs: t.configs.clone(),
        }];
        records.push(MetadataRecord::PartitionsPlaced {
            topic_id,
            first: 0,
            count: t.partitions,
            replication_factor: t.replication_factor,
            assignments: t.assignments.clone().unwrap_or_default(),
            fallback: self.config.node_id,
        });
        let next = image.apply_all(&records)?;
        self.check_capacity(&image, &next)?;
        let created = next.topic(&t.name).cloned().ok_or_else(|| {
            BrokerError::InvalidRequest("topic vanished while being created".into())
        })?;
        if validate_only {
            return Ok(created);
        }
        match self.commit(records).await {
            Err(BrokerError::InvalidRequest(m)) if m.contains("already exists") => {
                // Another node created it between our check and the commit.
                return Err(BrokerError::TopicAlreadyExists(t.name.clone()));
            }
            other => other.map_err(placement_error)?,
        }
        let created = self.metadata().topic(&t.name).cloned().unwrap_or(created);
        info!(topic = %t.name, partitions = t.partitions, %topic_id, "topic created");
        Ok(created)
    }

    /// Deletes a topic and, in the background, its data.
    pub async fn delete_topic(&self, name: &str) -> Result<Uuid, BrokerError> {
        if is_internal(name) {
            return Err(BrokerError::InvalidRequest(format!(
                "internal topic {name} cannot be deleted"
            )));
        }
        let _writes = self.metadata_writes.lock().await;
        let image = self.metadata();
        let topic = image
            .topic(name)
            .ok_or(BrokerError::UnknownTopicOrPartition)?;
        let topic_id = topic.topic_id;
        let rec = MetadataRecord::TopicDeleted { topic_id };
        image.apply(&rec)?;
        self.commit(vec![rec]).await?;
        Ok(topic_id)
    }

    /// Hands out a new producer id, taking a new block from the metadata
    /// log when the current one is used up (ids are never reused, even
    /// across restarts).
    pub async fn allocate_producer_id(&self) -> Result<i64, BrokerError> {
        let mut block = self.producer_ids.lock().await;
        if block.next >= block.end {
            let _writes = self.metadata_writes.lock().await;
            let image = self.metadata();
            let start = image.next_producer_id().max(block.end);
            let rec = MetadataRecord::ProducerIdsAllocated {
                next_producer_id: start + PRODUCER_ID_BLOCK,
            };
            image.apply(&rec)?;
            self.commit(vec![rec]).await?;
            block.next = start;
            block.end = start + PRODUCER_ID_BLOCK;
        }
        let id = block.next;
        block.next += 1;
        Ok(id)
    }

    /// fsyncs every partition with unflushed records (shutdown).
    pub fn flush_all(&self) {
        for p in self.all_partitions() {
            if let Err(e) = p.flush() {
                warn!(topic = %p.topic, partition = p.index, error = %e, "flush failed");
            }
        }
    }

    /// fsyncs the partitions whose `flush.ms` (topic) or
    /// `log.flush.interval.ms` (broker) has passed with records unflushed.
    pub fn flush_due(&self) {
        for p in self.all_partitions() {
            if let Err(e) = p.flush_if_due() {
                warn!(topic = %p.topic, partition = p.index, error = %e, "flush failed");
            }
        }
    }

    /// One retention pass over every partition (topic `retention.ms` /
    /// `retention.bytes`, else the broker's `log.retention.*`).
    pub fn apply_retention(&self) {
        let now_ms = crate::now_ms();
        // Idle producers' deduplication state goes with the same timer.
        let expiration = self.config.txn.producer_id_expiration_ms;
        for p in self.all_partitions() {
            let n = p.expire_producers(now_ms, expiration);
            if n > 0 {
                debug!(topic = %p.topic, partition = p.index, producers = n, "expired idle producer ids");
            }
        }
        let image = self.metadata();
        for topic in image.topics() {
            let tc = match TopicConfig::parse_stored(&topic.configs) {
                Ok(tc) => tc,
                Err(e) => {
                    warn!(topic = %topic.name, error = %e, "skipping retention: bad topic config");
                    continue;
                }
            };
            if !self.cleanup_policy(&tc).0 {
                continue; // compact-only topics are never trimmed by retention
            }
            let ms = tc.retention_ms.unwrap_or(self.effective().log.retention_ms);
            let bytes = tc
                .retention_bytes
                .unwrap_or(self.effective().log.retention_bytes);
            let ms = (ms >= 0).then_some(ms);
            let bytes = u64::try_from(bytes).ok();
            if ms.is_none() && bytes.is_none() {
                continue;
            }
            let Some(parts) = self.topic(&topic.name) else {
                continue;
            };
            for p in parts.partitions.iter().flatten() {
                match p.apply_retention(ms, bytes, now_ms) {
                    Ok(0) => {}
                    Ok(n) => {
                        info!(topic = %p.topic, partition = p.index, segments = n, start = p.log_start_offset(), "retention deleted segments")
                    }
                    Err(e) => {
                        warn!(topic = %p.topic, partition = p.index, error = %e, "retention failed")
                    }
                }
            }
        }
    }

    /// One compaction pass over every partition of every topic whose
    /// `cleanup.policy` includes `compact` (each partition is cleaned only
    /// when its own dirty ratio, lag or tombstones call for it). Runs on the
    /// blocking pool; appends and fetches continue meanwhile.
    pub fn apply_compaction(&self) {
        let now_ms = crate::now_ms();
        let image = self.metadata();
        for topic in image.topics() {
            let Ok(tc) = TopicConfig::parse_stored(&topic.configs) else {
                continue;
            };
            if !self.cleanup_policy(&tc).1 {
                continue;
            }
            let cfg = self.compaction_config(&tc);
            let Some(parts) = self.topic(&topic.name) else {
                continue;
            };
            for p in parts.partitions.iter().flatten() {
                match p.compact(&cfg, now_ms) {
                    Ok(Some(st)) => {
                        crate::metrics::cleaner_pass(&st);
                        info!(
                            topic = %p.topic,
                            partition = p.index,
                            segments_in = st.segments_in,
                            segments_out = st.segments_out,
                            bytes_in = st.bytes_in,
                            bytes_out = st.bytes_out,
                            records_removed = st.records_removed,
                            tombstones_removed = st.tombstones_removed,
                            clean_offset = st.clean_offset,
                            "compacted partition"
                        );
                    }
                    Ok(None) => {}
                    Err(e) => {
                        crate::metrics::cleaner_error();
                        warn!(topic = %p.topic, partition = p.index, error = %e, "compaction failed; log left as it was")
                    }
                }
            }
        }
    }

    /// How often the flush scheduler looks for logs due a flush
    /// (`log.flush.scheduler.interval.ms`).
    pub fn flush_check_interval(&self) -> Duration {
        self.config.log.flush_scheduler_interval
    }
}

/// True when `data_dir` holds a partition directory (`<name>-<n>`, the
/// metadata directory aside): it has been used, so its metadata must exist.
fn has_partition_dirs(data_dir: &Path) -> Result<bool, BrokerError> {
    for e in fs::read_dir(data_dir)? {
        let e = e?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name == "__cluster_metadata-0" || !e.file_type()?.is_dir() {
            continue;
        }
        if let Some((topic, index)) = name.rsplit_once('-') {
            if !topic.is_empty() && !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Reads the cluster id from `meta.properties` (Kafka's file), None when
/// the directory was never formatted. A node id that differs from the one
/// the directory was formatted with is refused.
fn read_meta_properties(data_dir: &Path, node_id: i32) -> Result<Option<String>, BrokerError> {
    let path = data_dir.join("meta.properties");
    match fs::read_to_string(&path) {
        Ok(text) => {
            let props: BTreeMap<String, String> = crate::config::parse_properties(&text)?;
            let id = props.get("cluster.id").cloned().ok_or_else(|| {
                BrokerError::Config(format!("{} has no cluster.id", path.display()))
            })?;
            if let Some(stored) = props.get("node.id") {
                if stored != &node_id.to_string() {
                    return Err(BrokerError::Config(format!(
                        "data directory {} belongs to node.id {stored}, not {node_id}",
                        data_dir.display()
                    )));
                }
            }
            Ok(Some(id))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A Kafka-style cluster id: a random UUID in URL-safe base64, no padding
/// (22 characters).
fn new_cluster_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = Uuid::new_v4().into_bytes();
    let mut out = String::with_capacity(22);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(ALPHABET[((acc >> bits) & 63) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (6 - bits)) & 63) as usize] as char);
    }
    out
}

/// Refuses to create topics while the data directory's file system is full
/// (or has less than 64 KiB free): writes and removes a probe file, so the
/// answer is the file system's own `ENOSPC` (KAFKA_STORAGE_ERROR), before
/// anything is committed. A new partition needs no space to open (its files
/// start empty), so without this a topic would be created that cannot take
/// a record.
fn check_free_space(data_dir: &Path) -> Result<(), BrokerError> {
    const PROBE_BYTES: usize = 64 * 1024;
    let probe = data_dir.join(".free-space-probe");
    let written = fs::write(&probe, vec![0u8; PROBE_BYTES]);
    let _ = fs::remove_file(&probe);
    written.map_err(|e| {
        warn!(dir = %data_dir.display(), error = %e, "refusing to create a topic: no space in the data directory");
        BrokerError::Io(e)
    })
}

/// Name of the directory a deleted partition's data is moved to before it is
/// removed: `<topic>-<partition>.<topic id>-delete`, with the topic cut short
/// so that the name fits in 255 bytes (as Kafka's `logDeleteDirName` does;
/// a legal topic name can be 249 characters). Start-up removes every entry
/// ending in `-delete` (a partition directory ends in its number).
fn delete_dir_name(topic: &str, partition: i32, topic_id: Uuid) -> String {
    let suffix = format!("-{partition}.{}-delete", topic_id.simple());
    let mut keep = topic.len().min(255usize.saturating_sub(suffix.len()));
    while !topic.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{suffix}", &topic[..keep])
}

fn remove_leftover_deletions(data_dir: &Path) {
    let Ok(entries) = fs::read_dir(data_dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().ends_with("-delete") {
            if let Err(err) = fs::remove_dir_all(e.path()) {
                warn!(dir = %e.path().display(), error = %err, "could not remove deleted partition");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_id_shape() {
        let id = new_cluster_id();
        assert_eq!(id.len(), 22);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(id, new_cluster_id());
    }

    #[test]
    fn delete_dir_names_fit_in_255_bytes() {
        let id = Uuid::new_v4();
        let short = delete_dir_name("orders", 3, id);
        assert_eq!(short, format!("orders-3.{}-delete", id.simple()));
        let long = "t".repeat(249);
        let name = delete_dir_name(&long, 2_000_000_000, id);
        assert_eq!(name.len(), 255);
        assert!(name.ends_with(&format!("-2000000000.{}-delete", id.simple())));
    }

    #[test]
    fn topic_names() {
        assert!(validate_topic_name("orders.v1_x-2").is_ok());
        for bad in ["", ".", "..", "a b", "a/b", &"x".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad:?}");
        }
    }
}
