//! The replica manager: the partitions this node hosts, opened from the
//! data directory as the metadata image places them here, looked up by
//! request handlers and coordinators, reconfigured, and retired when their
//! topic is deleted. [`maintenance`] runs the periodic jobs over them
//! (flush, retention, compaction).
//!
//! [`partition::Partition`] is one hosted partition (its log, role, leader
//! epoch, high watermark and the notification fetches wait on). This module
//! does not decide placement (the quorum's image does, see
//! `crate::metadata`), nor which settings a topic has (the broker derives
//! them from its configuration and passes them in).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dashmap::DashMap;
use memorystreamer_log::{Log, LogConfig};
use memorystreamer_raft::{MetadataImage, PartitionImage, TopicImage};
use tracing::{info, warn};

use crate::data_dir::delete_dir_name;
use crate::error::BrokerError;

pub mod fetcher;
pub mod isr;
pub mod maintenance;
pub mod partition;

use partition::{
    split_followers, Partition, PartitionSettings, ReplicaState, Role, TopicPartitions,
};

/// A hosted partition whose leadership changed when an image was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadershipChange {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub index: i32,
    /// This node leads it now (else it follows, or nobody leads).
    pub leader: bool,
    /// The new leader epoch.
    pub leader_epoch: i32,
}

/// What applying an image's assignments did: leadership changes, and the
/// partitions to fetch, by leader.
#[derive(Default)]
pub struct Assignments {
    /// Partitions that became (or stopped being) led here.
    pub changes: Vec<LeadershipChange>,
    /// (leader node id, partition) for every partition followed here.
    pub follow: Vec<(i32, Arc<Partition>)>,
}

/// The partitions hosted on this node, by topic.
pub struct ReplicaManager {
    node_id: i32,
    data_dir: PathBuf,
    metrics_topic_labels: bool,
    partitions: DashMap<String, Arc<TopicPartitions>>,
    /// The (leads here, leader epoch) last reported per partition by
    /// [`ReplicaManager::apply_assignments`].
    announced: DashMap<(String, i32), (bool, i32)>,
}

impl ReplicaManager {
    /// An empty manager for node `node_id` keeping logs under `data_dir`;
    /// `metrics_topic_labels` says whether per-topic metrics are labelled.
    pub fn new(node_id: i32, data_dir: &Path, metrics_topic_labels: bool) -> Self {
        ReplicaManager {
            node_id,
            data_dir: data_dir.to_path_buf(),
            metrics_topic_labels,
            partitions: DashMap::new(),
            announced: DashMap::new(),
        }
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
    pub fn local_partition(
        &self,
        image: &MetadataImage,
        topic: &str,
        index: i32,
    ) -> Result<Arc<Partition>, BrokerError> {
        if let Some(p) = self.partition(topic, index) {
            return Ok(p);
        }
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
        self.data_dir.join(format!("{topic}-{index}"))
    }

    /// Opens every partition of `topic` hosted here and adds them to the map.
    pub fn open_topic(
        &self,
        topic: &TopicImage,
        settings: &PartitionSettings,
        log_config: &LogConfig,
    ) -> Result<(), BrokerError> {
        let partitions = self.open_partitions(topic, 0, settings, log_config)?;
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
        settings: &PartitionSettings,
        log_config: &LogConfig,
    ) -> Result<Vec<Option<Arc<Partition>>>, BrokerError> {
        let metrics = crate::metrics::TopicMetrics::new(&topic.name, self.metrics_topic_labels);
        let mut partitions = Vec::with_capacity(topic.partitions.len().saturating_sub(from));
        for p in topic.partitions.iter().skip(from) {
            if !p.replicas.contains(&self.node_id) {
                partitions.push(None);
                continue;
            }
            partitions.push(Some(
                self.open_one(topic, p, settings, log_config, &metrics)?,
            ));
        }
        Ok(partitions)
    }

    /// Opens the log of one partition of `topic` in the role the image
    /// gives it.
    fn open_one(
        &self,
        topic: &TopicImage,
        p: &PartitionImage,
        settings: &PartitionSettings,
        log_config: &LogConfig,
        metrics: &crate::metrics::TopicMetrics,
    ) -> Result<Arc<Partition>, BrokerError> {
        let log = Log::open(
            &self.partition_dir(&topic.name, p.partition),
            log_config.clone(),
        )?;
        let state = ReplicaState::for_assignment(
            self.node_id,
            p.leader,
            p.leader_epoch,
            &p.replicas,
            &p.isr,
            log.log_start_offset(),
            log.log_end_offset(),
            crate::now_ms(),
        );
        Ok(Arc::new(Partition::with_state(
            topic.name.clone(),
            topic.topic_id,
            p.partition,
            state,
            log,
            settings.clone(),
            metrics.clone(),
        )))
    }

    /// Opens partitions `from..` of a grown topic and adds them to the map.
    pub fn open_added_partitions(
        &self,
        topic: &TopicImage,
        from: usize,
        settings: &PartitionSettings,
        log_config: &LogConfig,
    ) -> Result<(), BrokerError> {
        let added = self.open_partitions(topic, from, settings, log_config)?;
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

    /// Partitions of `topic` (an existing topic) whose placement here
    /// changed by a reassignment: (indexes now placed here but not hosted,
    /// indexes hosted here but no longer placed here). Partitions past the
    /// hosted count are left to [`ReplicaManager::open_added_partitions`].
    pub fn moved_partitions(&self, topic: &TopicImage) -> (Vec<i32>, Vec<i32>) {
        let Some(hosted) = self.topic(&topic.name) else {
            return (Vec::new(), Vec::new());
        };
        let mut open = Vec::new();
        let mut retire = Vec::new();
        for (p, local) in topic.partitions.iter().zip(&hosted.partitions) {
            match (p.replicas.contains(&self.node_id), local.is_some()) {
                (true, false) => open.push(p.partition),
                (false, true) => retire.push(p.partition),
                _ => {}
            }
        }
        (open, retire)
    }

    /// Replaces slot `index` of hosted topic `topic` with `partition`.
    fn set_slot(&self, topic: &TopicImage, index: i32, partition: Option<Arc<Partition>>) {
        let Ok(i) = usize::try_from(index) else {
            return;
        };
        let mut partitions = self
            .topic(&topic.name)
            .map(|t| t.partitions.clone())
            .unwrap_or_default();
        if partitions.len() <= i {
            partitions.resize(i + 1, None);
        }
        partitions[i] = partition;
        self.partitions.insert(
            topic.name.clone(),
            Arc::new(TopicPartitions {
                topic_id: topic.topic_id,
                partitions,
            }),
        );
    }

    /// Opens partition `index` of `topic`, newly placed on this node by a
    /// reassignment: its log directory is created (empty) and it starts as
    /// the image says, normally an out-of-sync follower that the image
    /// applier then points at the leader.
    pub fn open_partition(
        &self,
        topic: &TopicImage,
        index: i32,
        settings: &PartitionSettings,
        log_config: &LogConfig,
    ) -> Result<(), BrokerError> {
        let Some(p) = usize::try_from(index)
            .ok()
            .and_then(|i| topic.partitions.get(i))
        else {
            return Err(BrokerError::UnknownTopicOrPartition);
        };
        let metrics = crate::metrics::TopicMetrics::new(&topic.name, self.metrics_topic_labels);
        let partition = self.open_one(topic, p, settings, log_config, &metrics)?;
        self.set_slot(topic, index, Some(partition));
        info!(topic = %topic.name, partition = index, "replica added here by a reassignment");
        Ok(())
    }

    /// Takes partition `index` of `topic` out of service on this node (a
    /// reassignment removed this replica; the image applier then stops
    /// fetching it) and deletes its data in the background, as
    /// [`ReplicaManager::retire_topic`] does for a deleted topic. When this
    /// node had announced leading it, the change to report (no longer
    /// leading, at the image's leader epoch) is pushed to `changes`, so the
    /// coordinators unload an internal partition that moved away.
    pub fn retire_partition(
        &self,
        topic: &TopicImage,
        index: i32,
        changes: &mut Vec<LeadershipChange>,
    ) -> Result<(), BrokerError> {
        self.set_slot(topic, index, None);
        if let Some((_, (true, _))) = self.announced.remove(&(topic.name.clone(), index)) {
            let leader_epoch = usize::try_from(index)
                .ok()
                .and_then(|i| topic.partitions.get(i))
                .map_or(0, |p| p.leader_epoch);
            changes.push(LeadershipChange {
                topic: topic.name.clone(),
                index,
                leader: false,
                leader_epoch,
            });
        }
        let result = self.delete_partition_dir(&topic.name, index, topic.topic_id);
        info!(topic = %topic.name, partition = index, "replica removed from here by a reassignment");
        result
    }

    /// Moves a partition's directory away and removes it in the background
    /// (see [`ReplicaManager::retire_topic`]).
    fn delete_partition_dir(
        &self,
        name: &str,
        index: i32,
        topic_id: uuid::Uuid,
    ) -> Result<(), BrokerError> {
        let dir = self.partition_dir(name, index);
        let doomed = self.data_dir.join(delete_dir_name(name, index, topic_id));
        match fs::rename(&dir, &doomed) {
            Ok(()) => {
                std::thread::spawn(move || {
                    if let Err(e) = fs::remove_dir_all(&doomed) {
                        warn!(dir = %doomed.display(), error = %e, "could not remove deleted partition");
                    }
                });
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => {
                warn!(dir = %dir.display(), error = %e, "could not move deleted partition away; removing it in place");
                fs::remove_dir_all(&dir).map_err(|e| {
                    warn!(dir = %dir.display(), error = %e, "could not remove deleted partition");
                    BrokerError::Io(e)
                })
            }
        }
    }

    /// Takes a deleted topic's partitions out of service and deletes their
    /// data in the background: each directory is renamed to a delete
    /// directory (see [`delete_dir_name`]) and removed by a thread. When the
    /// rename fails the directory is removed in place; when that fails too
    /// the error is returned (the client sees it) so that old data is never
    /// silently left for a re-created topic of the same name to pick up.
    pub fn retire_topic(&self, topic: &TopicImage) -> Result<(), BrokerError> {
        let name = &topic.name;
        let topic_id = topic.topic_id;
        self.partitions.remove(name);
        self.announced.retain(|(t, _), _| t != name);
        let mut first_error = None;
        for p in &topic.partitions {
            if let Err(e) = self.delete_partition_dir(name, p.partition, topic_id) {
                first_error.get_or_insert(e);
            }
        }
        info!(topic = %name, %topic_id, "topic deleted");
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Brings every hosted partition's role, leader epoch and ISR to what
    /// `image` says (become leader, become follower, or take a committed
    /// ISR change), and lists what changed and what to fetch. A transition
    /// the partition refuses (an image older than what it has seen) is
    /// logged and skipped.
    pub fn apply_assignments(&self, image: &MetadataImage) -> Assignments {
        let me = self.node_id;
        let mut out = Assignments::default();
        for entry in self.partitions.iter() {
            let Some(topic) = image
                .topic(entry.key())
                .filter(|t| t.topic_id == entry.value().topic_id)
            else {
                continue;
            };
            for (pi, p) in topic.partitions.iter().zip(&entry.value().partitions) {
                let Some(p) = p else { continue };
                let (isr_followers, others) = split_followers(me, &pi.replicas, &pi.isr);
                let state = p.replica_state();
                let result = if pi.leader == me {
                    if state.role() != Role::Leader || state.leader_epoch() != pi.leader_epoch {
                        p.become_leader(pi.leader_epoch, &isr_followers, &others)
                    } else if !state.has_followers(&isr_followers, &others) {
                        p.update_isr(pi.leader_epoch, &isr_followers, &others)
                    } else {
                        Ok(())
                    }
                } else {
                    let role = Role::Follower { leader: pi.leader };
                    let r = if state.role() != role || state.leader_epoch() != pi.leader_epoch {
                        p.become_follower(pi.leader_epoch, pi.leader)
                    } else {
                        Ok(())
                    };
                    if pi.leader >= 0 && r.is_ok() {
                        out.follow.push((pi.leader, Arc::clone(p)));
                    }
                    r
                };
                if let Err(e) = result {
                    warn!(topic = %topic.name, partition = pi.partition, error = %e, "cannot apply the partition's leadership from the metadata image");
                }
                // Announced once per (role, epoch), including partitions
                // just opened, so coordinators load what they now lead.
                let now = (p.role() == Role::Leader, p.leader_epoch());
                let key = (topic.name.clone(), pi.partition);
                if self.announced.get(&key).map(|v| *v) != Some(now) {
                    self.announced.insert(key, now);
                    out.changes.push(LeadershipChange {
                        topic: topic.name.clone(),
                        index: pi.partition,
                        leader: now.0,
                        leader_epoch: now.1,
                    });
                }
            }
        }
        out
    }

    /// Applies new settings to every hosted partition of `name`.
    pub fn reconfigure_topic(
        &self,
        name: &str,
        settings: &PartitionSettings,
        log_config: &LogConfig,
    ) {
        if let Some(t) = self.topic(name) {
            for p in t.partitions.iter().flatten() {
                p.reconfigure(settings, log_config.clone());
            }
        }
    }
}
