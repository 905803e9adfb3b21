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

use std::fs;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use memorystreamer_log::LogConfig;
use memorystreamer_raft::quorum::{Quorum, QuorumConfig};
use memorystreamer_raft::{BrokerEndpoint, MetadataImage, MetadataRecord, TopicImage};
use tracing::{info, warn};
use uuid::Uuid;

use crate::config::{BrokerConfig, ConfigRepository};
use crate::controller::{
    check_new_topic, placement_error, plan_create_partitions, plan_create_topic, quorum_error,
    COMMIT_TIMEOUT,
};
pub use crate::controller::{validate_topic_name, NewTopic};
use crate::coordinator::{is_internal, OFFSETS_TOPIC, TXN_TOPIC};
use crate::data_dir::{
    adopt_cluster_id, check_free_space, has_partition_dirs, import_legacy_metadata, new_cluster_id,
    read_meta_properties, remove_leftover_deletions, write_meta_properties,
};
use crate::error::BrokerError;
use crate::group::GroupCoordinator;
use crate::metadata::{BrokerAddress, MetadataCache};
use crate::replica::fetcher::ReplicaFetchers;
use crate::replica::partition::{Partition, PartitionSettings};
use crate::replica::{LeadershipChange, ReplicaManager};
use crate::security::Security;

pub(crate) mod elections;
mod markers;
pub(crate) mod reassign;
mod replication;
pub mod security_admin;
use crate::config::topic::{ConfigDef, TopicConfig};
use crate::txn::TxnCoordinator;

/// Producer ids are taken from the metadata quorum in blocks of this size.
const PRODUCER_ID_BLOCK: i64 = 1000;

struct ProducerIdBlock {
    next: i64,
    end: i64,
}

/// Everything a request handler needs.
pub struct Broker {
    /// Static configuration (file, environment, flags). Settings that can
    /// change at run time are read through [`Broker::effective`].
    pub config: BrokerConfig,
    /// The static and effective configuration, and everything derived
    /// from them ([`ConfigRepository`]).
    configs: ConfigRepository,
    /// Cluster id from `meta.properties`, stable across restarts.
    pub cluster_id: String,
    /// The committed metadata image as applied here, and routing from it.
    pub cache: MetadataCache,
    quorum: Quorum,
    /// Serialises this node's validate-then-commit metadata changes.
    metadata_writes: tokio::sync::Mutex<()>,
    /// Serialises applying committed images to local state.
    apply_lock: Mutex<()>,
    /// The partitions hosted here.
    pub replicas: ReplicaManager,
    producer_ids: tokio::sync::Mutex<ProducerIdBlock>,
    /// The group coordinator.
    pub groups: GroupCoordinator,
    /// The transaction coordinator.
    txn: TxnCoordinator,
    /// Fetch tasks of the partitions this node follows.
    fetchers: ReplicaFetchers,
    /// The authorizer (fed from the image) and listener security.
    pub security: Security,
    /// How this broker connects to its peers (transaction markers, KIP-890
    /// verification; the replica fetchers hold a clone).
    pub(crate) dialer: crate::interbroker::PeerDialer,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
        // Security first: the quorum's transport needs the controller
        // listener's stores and the authorizer (its ACLs arrive with the
        // image, through `Security::sync`).
        let security = Security::new(
            &config.props,
            &config.listeners,
            &config.controller_security,
        )?;
        let cluster = config.quorum_voters.len() > 1;
        let dialer = security.peer_dialer(&config.inter_broker_listener, &config.props, cluster)?;
        if cluster {
            dialer.check()?;
            security.check_quorum_dialing()?;
        }
        let quorum = Quorum::start(QuorumConfig {
            node_id,
            dir: meta_dir.clone(),
            listen: config.controller_listener.clone(),
            voters: config.quorum_voters.clone(),
            // A single voter elects itself at once; its heartbeats stay short.
            election_timeout: if single {
                Duration::from_millis(500)
            } else {
                config.quorum_election_timeout
            },
            session_timeout: config.broker_session_timeout,
            broker_heartbeat: config.broker_heartbeat_interval,
            transport: security.quorum_transport(),
        })
        .await
        .map_err(quorum_error)?;
        // The ACLs this node stored before a restart gate its quorum peers
        // while it catches up (a node that has none yet admits only super
        // users; see `quorum_link`).
        if quorum.last_applied().is_some() {
            security.sync(&quorum.image());
        }
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
        let configs = ConfigRepository::new(config.clone());
        let config_for_fetchers = config.clone();
        let cache = MetadataCache::new(config.node_id, config.advertised_listeners.clone());
        let replicas = ReplicaManager::new(
            config.node_id,
            &config.data_dir,
            config.metrics_topic_labels,
        );
        let broker = Broker {
            security,
            config,
            configs,
            cluster_id,
            cache,
            quorum,
            metadata_writes: tokio::sync::Mutex::new(()),
            apply_lock: Mutex::new(()),
            replicas,
            // Producer ids come in blocks from the metadata quorum; a block
            // partly used before a restart is abandoned.
            producer_ids: tokio::sync::Mutex::new(ProducerIdBlock { next: 0, end: 0 }),
            groups,
            txn,
            fetchers: ReplicaFetchers::new(Self::fetcher_config(
                &config_for_fetchers,
                dialer.clone(),
            )),
            dialer,
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
        let guard = lock(&self.apply_lock);
        let new = self.quorum.image();
        let old = self.metadata();
        if Arc::ptr_eq(&new, &old) {
            return Ok(());
        }
        let mut first_error = None;
        for t in old.topics() {
            if new.topic(&t.name).is_none_or(|n| n.topic_id != t.topic_id) {
                if let Err(e) = self.replicas.retire_topic(t) {
                    first_error.get_or_insert(e);
                }
            }
        }
        let mut reconfigure = Vec::new();
        // Leaderships given up by retiring a partition (for the coordinators).
        let mut retired = Vec::new();
        for t in new.topics() {
            let result = match old.topic(&t.name) {
                Some(o) if o.topic_id == t.topic_id => {
                    if t.configs != o.configs {
                        reconfigure.push(t.name.clone());
                    }
                    let moved = self.move_replicas(o, t, &mut retired);
                    let grown = if t.partitions.len() > o.partitions.len() {
                        self.topic_settings(t).and_then(|(settings, log_config)| {
                            self.replicas.open_added_partitions(
                                t,
                                o.partitions.len(),
                                &settings,
                                &log_config,
                            )
                        })
                    } else {
                        Ok(())
                    };
                    moved.and(grown)
                }
                _ => self.topic_settings(t).and_then(|(settings, log_config)| {
                    self.replicas.open_topic(t, &settings, &log_config)
                }),
            };
            if let Err(e) = result {
                warn!(topic = %t.name, error = %e, "cannot open partitions of a committed topic");
                first_error.get_or_insert(e);
            }
        }
        let broker_configs_changed = self.configs.dynamic_changed(&old, &new);
        // Roles first, then the image: a client sent here by the new image
        // finds the partition already leading.
        let mut changes = self.apply_leadership(&new);
        changes.extend(retired);
        self.security.sync(&new);
        self.cache.publish(Arc::clone(&new));
        if broker_configs_changed {
            if let Err(e) = self.configs.apply_dynamic(&new) {
                warn!(error = %e, "ignoring committed dynamic broker configs");
            }
            self.reconfigure_all();
        } else {
            for name in reconfigure {
                self.reconfigure_topic(&name);
            }
        }
        drop(guard);
        self.move_coordinators(&changes);
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Opens the partitions of topic `t` that a reassignment placed on this
    /// node and retires (stops and deletes) those it removed from it, when
    /// `t`'s replicas differ from `old`'s; a retired partition led here is
    /// reported in `retired`. The first error is returned, the rest applied.
    fn move_replicas(
        &self,
        old: &TopicImage,
        t: &TopicImage,
        retired: &mut Vec<LeadershipChange>,
    ) -> Result<(), BrokerError> {
        let changed = old
            .partitions
            .iter()
            .zip(&t.partitions)
            .any(|(a, b)| a.replicas != b.replicas);
        if !changed {
            return Ok(());
        }
        let (open, retire) = self.replicas.moved_partitions(t);
        let mut first_error = None;
        for index in retire {
            if let Err(e) = self.replicas.retire_partition(t, index, retired) {
                first_error.get_or_insert(e);
            }
        }
        if !open.is_empty() {
            match self.topic_settings(t) {
                Ok((settings, log_config)) => {
                    for index in open {
                        if let Err(e) =
                            self.replicas
                                .open_partition(t, index, &settings, &log_config)
                        {
                            first_error.get_or_insert(e);
                        }
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Registers this broker (its advertised listeners and rack) with the
    /// cluster at every start: a new incarnation, as Kafka's broker
    /// registration. The quorum then fences the old incarnation (its
    /// leaderships move to other in-sync replicas and it leaves the ISRs,
    /// since what it acknowledged may have been lost with the process) and
    /// unfences the new one, which catches up as a follower and rejoins the
    /// ISRs. A partition whose only in-sync replica is this node gets it
    /// back as leader at a new epoch. The registration's host and port are
    /// the first advertised listener's; every advertised listener follows
    /// in the same commit (`BrokerListeners`), so clients and other brokers
    /// reach it on the listener they use.
    async fn register(&self) -> Result<(), BrokerError> {
        let advertised = &self.config.advertised_listeners;
        let Some(l) = advertised.first() else {
            return Err(BrokerError::Config("no advertised listener".into()));
        };
        let node = self.config.node_id;
        let listeners = advertised
            .iter()
            .map(|l| BrokerEndpoint {
                listener: l.name.clone(),
                host: l.host.clone(),
                port: i32::from(l.port),
            })
            .collect();
        self.commit(vec![
            MetadataRecord::BrokerRegistered {
                node_id: node,
                host: l.host.clone(),
                port: i32::from(l.port),
                rack: self.config.rack.clone(),
            },
            MetadataRecord::BrokerListeners {
                node_id: node,
                listeners,
            },
        ])
        .await?;
        info!(node_id = node, host = %l.host, port = l.port, listeners = advertised.len(), rack = ?self.config.rack, "broker registered");
        Ok(())
    }

    /// See [`MetadataCache::active_controller_id`]; the quorum leader is
    /// this node's current view.
    pub fn active_controller_id(&self, live: &[BrokerAddress]) -> i32 {
        self.cache.active_controller_id(live, self.quorum.leader())
    }

    /// The coordinator of `group` as clients of `listener` reach it: the
    /// broker leading its `__consumer_offsets` partition (created on first
    /// use in a cluster).
    pub async fn group_coordinator(
        &self,
        group: &str,
        listener: &str,
    ) -> Result<BrokerAddress, BrokerError> {
        if self.metadata().topic(OFFSETS_TOPIC).is_none() {
            self.ensure_offsets_topic().await?;
        }
        self.cache
            .leader_address(OFFSETS_TOPIC, self.groups.partition_of(group), listener)
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
        listener: &str,
    ) -> Result<BrokerAddress, BrokerError> {
        if self.metadata().topic(TXN_TOPIC).is_none() {
            self.ensure_internal_topic(
                TXN_TOPIC,
                self.config.txn.state_log_partitions,
                self.config.txn.state_log_segment_bytes,
            )
            .await?;
        }
        self.cache
            .leader_address(TXN_TOPIC, self.txn.partition_of(transactional_id), listener)
    }

    /// True when this broker coordinates `group` (leads its offsets
    /// partition and has loaded it; `GroupCoordinator::check_coordinator`
    /// tells loading from elsewhere).
    pub fn is_coordinator(&self, group: &str) -> bool {
        self.groups.check_coordinator(group).is_ok()
    }

    /// 0 when this broker coordinates `group`, else the error code to
    /// answer: COORDINATOR_LOAD_IN_PROGRESS while its partition is being
    /// loaded here, NOT_COORDINATOR otherwise.
    pub fn coordinator_error(&self, group: &str) -> i16 {
        match self.groups.check_coordinator(group) {
            Ok(()) => 0,
            Err(e) => e.code(),
        }
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
        let txn = name == TXN_TOPIC;
        let rf =
            crate::controller::internal_replication_factor(&self.config, txn, &self.metadata());
        let min_isr = crate::controller::internal_min_insync_replicas(&self.config, txn, rf);
        let t = NewTopic {
            name: name.to_string(),
            partitions,
            replication_factor: rf,
            assignments: None,
            configs: vec![
                ("cleanup.policy".into(), "compact".into()),
                ("segment.bytes".into(), segment_bytes.to_string()),
                ("compression.type".into(), "producer".into()),
                // `transaction.state.log.min.isr` for the transaction log
                // (capped by its replication factor), the broker default for
                // the offsets topic, as Kafka creates them.
                ("min.insync.replicas".into(), min_isr.to_string()),
            ],
        };
        match self.create_topic(&t, false).await {
            // Another node created it first.
            Ok(_) | Err(BrokerError::TopicAlreadyExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The config repository: static and effective configuration, per-topic
    /// settings, DescribeConfigs values, validated config changes.
    pub fn configs(&self) -> &ConfigRepository {
        &self.configs
    }

    /// The configuration in effect now: static settings with dynamic broker
    /// configs applied (cheap: no lock, no allocation).
    pub fn effective(&self) -> arc_swap::Guard<Arc<BrokerConfig>> {
        self.configs.effective()
    }

    /// Replaces the dynamic broker configs of `resource` (`""` for the
    /// cluster default or this node's id): validated against the whole
    /// configuration ([`ConfigRepository::broker_config_change`]), durable
    /// in the metadata log, then applied to every partition whose topic
    /// does not override the changed defaults.
    pub async fn alter_broker_configs(
        &self,
        resource: &str,
        configs: Vec<(String, String)>,
        validate_only: bool,
    ) -> Result<(), BrokerError> {
        let _writes = self.metadata_writes.lock().await;
        let rec = self
            .configs
            .broker_config_change(&self.metadata(), resource, configs.clone())?;
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
        self.replicas
            .reconfigure_topic(name, &self.partition_settings(&tc), &self.log_config(&tc));
    }

    /// The settings a topic's partitions are opened with: what they enforce
    /// on produce and their log configuration.
    fn topic_settings(
        &self,
        t: &TopicImage,
    ) -> Result<(PartitionSettings, LogConfig), BrokerError> {
        let tc = TopicConfig::parse_stored(&t.configs)?;
        Ok((self.partition_settings(&tc), self.log_config(&tc)))
    }

    /// A partition hosted here, or why not (see
    /// [`ReplicaManager::local_partition`]).
    pub fn local_partition(&self, topic: &str, index: i32) -> Result<Arc<Partition>, BrokerError> {
        self.replicas
            .local_partition(&self.metadata(), topic, index)
    }

    /// One retention pass over every partition (topic `retention.ms` /
    /// `retention.bytes`, else the broker's `log.retention.*`), and expiry
    /// of idle producers' deduplication state, which goes with the same
    /// timer.
    pub fn apply_retention(&self) {
        let now_ms = crate::now_ms();
        self.replicas
            .expire_producers(now_ms, self.config.txn.producer_id_expiration_ms);
        self.replicas
            .apply_retention(&self.metadata(), now_ms, |topic| {
                let tc = match TopicConfig::parse_stored(&topic.configs) {
                    Ok(tc) => tc,
                    Err(e) => {
                        warn!(topic = %topic.name, error = %e, "skipping retention: bad topic config");
                        return None;
                    }
                };
                if !self.configs.cleanup_policy(&tc).0 {
                    return None; // compact-only topics are never trimmed by retention
                }
                let ms = tc.retention_ms.unwrap_or(self.effective().log.retention_ms);
                let bytes = tc
                    .retention_bytes
                    .unwrap_or(self.effective().log.retention_bytes);
                Some(((ms >= 0).then_some(ms), u64::try_from(bytes).ok()))
            });
    }

    /// One compaction pass over every partition of every topic whose
    /// `cleanup.policy` includes `compact`. Runs on the blocking pool.
    pub fn apply_compaction(&self) {
        self.replicas
            .apply_compaction(&self.metadata(), crate::now_ms(), |topic| {
                let tc = TopicConfig::parse_stored(&topic.configs).ok()?;
                self.configs
                    .cleanup_policy(&tc)
                    .1
                    .then(|| self.configs.compaction_config(&tc))
            });
    }

    /// The current metadata image.
    pub fn metadata(&self) -> Arc<MetadataImage> {
        self.cache.image()
    }

    fn log_config(&self, topic_config: &TopicConfig) -> LogConfig {
        self.configs.log_config(topic_config)
    }

    fn partition_settings(&self, tc: &TopicConfig) -> PartitionSettings {
        self.configs.partition_settings(tc)
    }

    /// The value a topic config has when not overridden.
    pub fn topic_config_default(&self, d: &ConfigDef) -> String {
        self.configs.topic_config_default(&self.metadata(), d)
    }

    /// Replaces a topic's config overrides (validated; durable before they
    /// take effect on its partitions). With `validate_only` nothing changes.
    pub async fn alter_topic_configs(
        &self,
        name: &str,
        configs: Vec<(String, String)>,
        validate_only: bool,
    ) -> Result<(), BrokerError> {
        let _writes = self.metadata_writes.lock().await;
        let rec = self
            .configs
            .topic_config_change(&self.metadata(), name, configs.clone())?;
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
        let records =
            plan_create_partitions(self.config.node_id, &image, name, count, assignments)?;
        if validate_only {
            return Ok(());
        }
        self.commit(records).await.map_err(placement_error)?;
        Ok(())
    }

    /// Creates a topic: validates, writes the metadata records, opens the
    /// partition logs. With `validate_only` nothing is written.
    pub async fn create_topic(
        &self,
        t: &NewTopic,
        validate_only: bool,
    ) -> Result<Arc<TopicImage>, BrokerError> {
        check_new_topic(t)?;
        check_free_space(&self.config.data_dir)?;
        let _writes = self.metadata_writes.lock().await;
        let image = self.metadata();
        let (records, created) = plan_create_topic(self.config.node_id, &image, t)?;
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
        info!(topic = %t.name, partitions = t.partitions, topic_id = %created.topic_id, "topic created");
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

    /// How often the flush scheduler looks for logs due a flush
    /// (`log.flush.scheduler.interval.ms`).
    pub fn flush_check_interval(&self) -> Duration {
        self.config.log.flush_scheduler_interval
    }
}
