//! The broker's side of replication: applying the leadership an image
//! gives this node (roles, replica fetchers, coordinators loading or
//! unloading what they now lead or no longer lead), proposing ISR changes
//! for the partitions it leads, and controlled shutdown.
//!
//! The decisions are elsewhere: elections happen when the quorum applies
//! records (`memorystreamer_raft` image rules), a partition's replica state
//! machine decides its high watermark and ISR wishes
//! (`crate::replica::partition`), and `crate::replica::isr` turns wishes into
//! records. This module wires them together.

use std::time::Duration;

use memorystreamer_raft::{MetadataImage, MetadataRecord};
use tracing::{info, warn};

use super::Broker;
use crate::coordinator::{OFFSETS_TOPIC, TXN_TOPIC};
use crate::error::{BrokerError, GroupError};
use crate::interbroker::PeerDialer;
use crate::replica::fetcher::FetcherConfig;
use crate::replica::{isr, LeadershipChange};

/// How long a coordinator's answer waits for its write to be replicated.
const COORDINATOR_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long controlled shutdown waits for the quorum to move leadership.
const CONTROLLED_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

impl Broker {
    /// The replica fetchers' settings from the broker configuration.
    pub(super) fn fetcher_config(
        config: &crate::config::BrokerConfig,
        dialer: PeerDialer,
    ) -> FetcherConfig {
        let r = &config.replication;
        FetcherConfig {
            node_id: config.node_id,
            max_wait: r.fetch_wait_max,
            min_bytes: r.fetch_min_bytes,
            partition_max_bytes: r.fetch_max_bytes,
            response_max_bytes: r.fetch_max_bytes.saturating_mul(10),
            backoff: Duration::from_millis(100),
            dialer,
        }
    }

    /// Brings hosted partitions to the roles `image` gives them, points the
    /// replica fetchers at their leaders, and returns the leadership
    /// changes for the coordinators ([`Broker::move_coordinators`], called
    /// outside the apply lock).
    pub(super) fn apply_leadership(&self, image: &MetadataImage) -> Vec<LeadershipChange> {
        let assignments = self.replicas.apply_assignments(image);
        let follow = assignments
            .follow
            .into_iter()
            .filter_map(|(leader, p)| {
                let listener = &self.config.inter_broker_listener;
                let Some((host, port)) = image.broker(leader)?.endpoint(listener) else {
                    warn!(leader, %listener, topic = %p.topic, "the leader does not advertise the inter-broker listener: not following it");
                    return None;
                };
                Some((leader, (host.to_string(), port), p))
            })
            .collect();
        self.fetchers.assign(follow);
        for c in &assignments.changes {
            if c.leader {
                info!(topic = %c.topic, partition = c.index, leader_epoch = c.leader_epoch, "leading partition");
            } else {
                info!(topic = %c.topic, partition = c.index, leader_epoch = c.leader_epoch, "following partition");
            }
        }
        assignments.changes
    }

    /// Coordinators load the internal partitions this node now leads and
    /// unload those it stopped leading.
    pub(super) fn move_coordinators(&self, changes: &[LeadershipChange]) {
        for c in changes {
            if c.topic == OFFSETS_TOPIC {
                self.groups
                    .on_leadership_change(self, c.index, c.leader, c.leader_epoch);
            } else if c.topic == TXN_TOPIC {
                self.txn
                    .on_leadership_change(self, c.index, c.leader, c.leader_epoch);
            }
        }
    }

    /// Proposes the ISR changes the partitions led here want (followers
    /// lagging `replica.lag.time.max.ms`, or caught up again), as
    /// `AlterPartition` records. Called on a timer.
    pub async fn maintain_isr(&self) {
        let image = self.metadata();
        let lag =
            i64::try_from(self.config.replication.lag_time_max.as_millis()).unwrap_or(i64::MAX);
        let proposals = isr::proposals(
            &self.replicas,
            &image,
            self.config.node_id,
            crate::now_ms(),
            lag,
        );
        if proposals.is_empty() {
            return;
        }
        for p in &proposals {
            info!(
                topic = %p.partition.topic,
                partition = p.partition.index,
                isr = ?p.isr,
                "proposing ISR change"
            );
        }
        let records: Vec<MetadataRecord> = proposals.iter().map(|p| p.record.clone()).collect();
        if let Err(e) = self.commit(records).await {
            warn!(error = %e, "ISR change not committed; will propose again");
        }
        isr::settle(&proposals, &self.metadata());
    }

    /// Waits until every coordinator write to internal partition `index`
    /// of `topic` made so far is replicated to its ISR (the high watermark
    /// reached the log end), as Kafka's coordinators append with
    /// `acks=all`: a committed offset or a transaction decision is answered
    /// only once it survives its coordinator's death. Bounded by
    /// `offsets.commit.timeout.ms`' default (5 s) and held to the topic's
    /// `min.insync.replicas`; the error is the one
    /// Kafka's coordinators answer then (COORDINATOR_NOT_AVAILABLE, or
    /// NOT_COORDINATOR when leadership moved).
    pub async fn await_coordinator_writes(
        &self,
        topic: &str,
        index: i32,
    ) -> Result<(), BrokerError> {
        let Some(p) = self.replicas.partition(topic, index) else {
            return Err(BrokerError::CoordinatorNotAvailable);
        };
        let deadline = tokio::time::Instant::now() + COORDINATOR_WRITE_TIMEOUT;
        match p
            .wait_for_high_watermark(p.log_end_offset(), p.min_insync(), deadline)
            .await
        {
            Ok(()) => Ok(()),
            Err(BrokerError::NotLeaderOrFollower) => Err(GroupError::NotCoordinator.into()),
            Err(e) => {
                warn!(topic, partition = index, error = %e, "coordinator write not replicated in time");
                Err(BrokerError::CoordinatorNotAvailable)
            }
        }
    }

    /// Stops the replica fetchers (shutdown).
    pub fn stop_fetchers(&self) {
        self.fetchers.stop_all();
    }

    /// Controlled shutdown (`controlled.shutdown.enable`): asks the quorum
    /// to fence this node, which moves the leadership of every partition it
    /// leads to another in-sync replica and takes it out of the ISRs, so
    /// clients see a retriable NOT_LEADER_OR_FOLLOWER and go to the new
    /// leader instead of timing out. Skipped on a single node.
    pub async fn controlled_shutdown(&self) {
        if !self.config.replication.controlled_shutdown || self.config.quorum_voters.len() < 2 {
            return;
        }
        let me = self.config.node_id;
        let led = self
            .replicas
            .all_partitions()
            .iter()
            .filter(|p| p.role() == crate::replica::partition::Role::Leader)
            .count();
        info!(
            node_id = me,
            partitions_led = led,
            "controlled shutdown: moving leadership away"
        );
        let fence = self.commit(vec![MetadataRecord::BrokerFenced { node_id: me }]);
        match tokio::time::timeout(CONTROLLED_SHUTDOWN_TIMEOUT, fence).await {
            Ok(Ok(())) => info!(node_id = me, "controlled shutdown: leadership moved"),
            Ok(Err(e)) => warn!(error = %e, "controlled shutdown failed; shutting down anyway"),
            Err(_) => warn!("controlled shutdown timed out; shutting down anyway"),
        }
    }
}
