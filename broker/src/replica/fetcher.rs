//! Replica fetchers: on a follower, one task per leader broker keeps a
//! long-lived connection to it and fetches every partition this node
//! follows there, as Kafka's `ReplicaFetcherThread` does (Fetch v12 with
//! this node's id as `replica_id`, `current_leader_epoch` and
//! `last_fetched_epoch`).
//!
//! Each response is applied partition by partition: records are appended
//! as they are (the leader assigned offsets and epochs), the leader's high
//! watermark is taken, and a `diverging_epoch` (KIP-320: this log has a tail
//! the leader does not) truncates the log before the next fetch. A follower
//! below the leader's log start starts over at it.
//!
//! The set of partitions comes from the metadata image
//! ([`ReplicaFetchers::assign`], called whenever it changes); a change
//! interrupts the fetch in flight so a new leader is followed at once.
//! Not here: which replica leads (the image), what the leader answers
//! (`crate::api::fetch`), ISR changes (`crate::replica::isr`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::partition::Partition;
use crate::error::BrokerError;
use crate::interbroker::{PeerConnection, PeerDialer};

/// The Fetch version followers use (the first with `last_fetched_epoch` and
/// `diverging_epoch`, still addressing topics by name).
const FETCH_VERSION: i16 = 12;

/// How followers fetch (Kafka's `replica.fetch.*` settings).
#[derive(Debug, Clone)]
pub struct FetcherConfig {
    /// This node's id, sent as `replica_id`.
    pub node_id: i32,
    /// `replica.fetch.wait.max.ms`.
    pub max_wait: Duration,
    /// `replica.fetch.min.bytes`.
    pub min_bytes: i32,
    /// `replica.fetch.max.bytes` (per partition).
    pub partition_max_bytes: i32,
    /// `replica.fetch.response.max.bytes`.
    pub response_max_bytes: i32,
    /// `replica.fetch.backoff.ms`: the pause after an error.
    pub backoff: Duration,
    /// How to connect to leaders (the inter-broker listener's security).
    pub dialer: PeerDialer,
}

/// A leader's Kafka address: (host, port).
pub type LeaderAddress = (String, i32);

/// A partition to follow: its leader, the leader's address, the partition.
pub type Assignment = (i32, LeaderAddress, Arc<Partition>);

type PartitionKey = (String, i32);

/// What one fetcher task fetches; replaced as a whole on every change.
#[derive(Clone, Default)]
struct Work {
    address: Option<LeaderAddress>,
    partitions: BTreeMap<PartitionKey, Arc<Partition>>,
    stopped: bool,
}

/// The fetcher tasks of this node, one per leader it follows.
pub struct ReplicaFetchers {
    config: FetcherConfig,
    leaders: Mutex<HashMap<i32, watch::Sender<Work>>>,
}

impl ReplicaFetchers {
    /// No fetchers yet.
    pub fn new(config: FetcherConfig) -> Self {
        ReplicaFetchers {
            config,
            leaders: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<i32, watch::Sender<Work>>> {
        self.leaders.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the followed partitions exactly `wanted`: starts a task for a
    /// new leader, hands each task its partitions (interrupting its fetch
    /// when they changed) and stops tasks left without any. Must run inside
    /// the Tokio runtime.
    pub fn assign(&self, wanted: Vec<Assignment>) {
        let mut by_leader: HashMap<i32, Work> = HashMap::new();
        for (leader, address, partition) in wanted {
            let work = by_leader.entry(leader).or_default();
            work.address = Some(address);
            work.partitions
                .insert((partition.topic.clone(), partition.index), partition);
        }
        let mut leaders = self.lock();
        leaders.retain(|leader, tx| {
            if by_leader.contains_key(leader) {
                return true;
            }
            tx.send_replace(Work {
                stopped: true,
                ..Work::default()
            });
            false
        });
        for (leader, work) in by_leader {
            match leaders.get(&leader) {
                Some(tx) => {
                    tx.send_if_modified(|current| {
                        let same = current.address == work.address
                            && current.partitions.len() == work.partitions.len()
                            && current
                                .partitions
                                .iter()
                                .zip(&work.partitions)
                                .all(|((k1, p1), (k2, p2))| k1 == k2 && Arc::ptr_eq(p1, p2));
                        if !same {
                            *current = work.clone();
                        }
                        !same
                    });
                }
                None => {
                    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                        warn!(leader, "no runtime to start a replica fetcher on");
                        continue;
                    };
                    info!(
                        leader,
                        partitions = work.partitions.len(),
                        "starting replica fetcher"
                    );
                    let (tx, rx) = watch::channel(work);
                    runtime.spawn(run(self.config.clone(), leader, rx));
                    leaders.insert(leader, tx);
                }
            }
        }
    }

    /// Stops every fetcher (shutdown).
    pub fn stop_all(&self) {
        for (_, tx) in self.lock().drain() {
            tx.send_replace(Work {
                stopped: true,
                ..Work::default()
            });
        }
    }
}

/// One fetcher task: fetches from `leader` until told to stop.
async fn run(config: FetcherConfig, leader: i32, mut work: watch::Receiver<Work>) {
    let mut conn: Option<PeerConnection> = None;
    let mut failures = 0u32;
    loop {
        let current = work.borrow_and_update().clone();
        if current.stopped {
            debug!(leader, "replica fetcher stopped");
            return;
        }
        let (Some((host, port)), false) = (&current.address, current.partitions.is_empty()) else {
            if work.changed().await.is_err() {
                return;
            }
            continue;
        };
        let result = tokio::select! {
            r = fetch_once(&config, &mut conn, host, *port, &current.partitions) => r,
            changed = work.changed() => {
                // New partitions or leader: the request in flight is
                // abandoned with its connection (its answer is stale).
                conn = None;
                if changed.is_err() {
                    return;
                }
                continue;
            }
        };
        match result {
            Ok(()) => failures = 0,
            Err(e) => {
                conn = None;
                failures = failures.saturating_add(1);
                if failures == 1 || failures.is_multiple_of(50) {
                    warn!(leader, %host, port, failures, error = %e, "replica fetch failed");
                }
                let pause = config.backoff * failures.min(10);
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    changed = work.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// One Fetch round trip and its application to the partitions.
async fn fetch_once(
    config: &FetcherConfig,
    conn: &mut Option<PeerConnection>,
    host: &str,
    port: i32,
    partitions: &BTreeMap<PartitionKey, Arc<Partition>>,
) -> Result<(), BrokerError> {
    let connection = match conn {
        Some(c) => c,
        None => {
            let c = tokio::time::timeout(
                Duration::from_secs(5),
                PeerConnection::connect(&config.dialer, host, port),
            )
            .await
            .map_err(|_| {
                BrokerError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("connecting to {host}:{port} timed out"),
                ))
            })??;
            conn.insert(c)
        }
    };
    let request = build_request(config, partitions);
    let response: FetchResponse = connection
        .call(
            ApiKey::Fetch,
            FETCH_VERSION,
            &request,
            config.max_wait + Duration::from_secs(10),
        )
        .await?;
    if response.error_code != 0 {
        return Err(BrokerError::InvalidRequest(format!(
            "leader answered the fetch with error {}",
            response.error_code
        )));
    }
    let mut any_error = None;
    for topic in &response.responses {
        for pd in &topic.partitions {
            let key = (topic.topic.to_string(), pd.partition_index);
            let Some(p) = partitions.get(&key) else {
                continue;
            };
            if let Err(e) = apply(p, pd) {
                debug!(topic = %key.0, partition = key.1, error = %e, "cannot apply fetched data");
                any_error.get_or_insert(e);
            }
        }
    }
    match any_error {
        // Retriable partition errors (a leader change under way) back off
        // the whole fetcher briefly; the image will move the partition.
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn build_request(
    config: &FetcherConfig,
    partitions: &BTreeMap<PartitionKey, Arc<Partition>>,
) -> FetchRequest {
    let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
    for ((topic, index), p) in partitions {
        topics.entry(topic).or_default().push(
            FetchPartition::default()
                .with_partition(*index)
                .with_current_leader_epoch(p.leader_epoch())
                .with_fetch_offset(p.log_end_offset())
                .with_last_fetched_epoch(p.latest_epoch())
                .with_log_start_offset(p.log_start_offset())
                .with_partition_max_bytes(config.partition_max_bytes),
        );
    }
    FetchRequest::default()
        .with_replica_id(BrokerId(config.node_id))
        .with_max_wait_ms(i32::try_from(config.max_wait.as_millis()).unwrap_or(i32::MAX))
        .with_min_bytes(config.min_bytes)
        .with_max_bytes(config.response_max_bytes)
        .with_isolation_level(0)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(
            topics
                .into_iter()
                .map(|(name, partitions)| {
                    FetchTopic::default()
                        .with_topic(TopicName(StrBytes::from_string(name.to_string())))
                        .with_partitions(partitions)
                })
                .collect(),
        )
}

/// Applies one partition's answer.
fn apply(p: &Partition, pd: &PartitionData) -> Result<(), BrokerError> {
    match ResponseError::try_from_code(pd.error_code) {
        None => {}
        Some(ResponseError::OffsetOutOfRange) => {
            // Below the leader's log start (retention moved it): start over
            // there. Otherwise the leader's log is shorter than ours and the
            // epoch check did not catch it: keep what it has committed.
            if pd.log_start_offset > p.log_end_offset() {
                info!(topic = %p.topic, partition = p.index, start = pd.log_start_offset, "follower below the leader's log start; starting over there");
                return p.truncate_fully_and_start_at(pd.log_start_offset);
            }
            let to = pd.high_watermark.max(p.log_start_offset());
            info!(topic = %p.topic, partition = p.index, to, "follower past the leader's log end; truncating");
            return p.truncate_to(to);
        }
        Some(e) => {
            return Err(BrokerError::InvalidRequest(format!(
                "leader answered {e:?} for {}-{}",
                p.topic, p.index
            )))
        }
    }
    let diverging = &pd.diverging_epoch;
    if diverging.epoch >= 0 || diverging.end_offset >= 0 {
        let to = p.truncation_offset(diverging.epoch, diverging.end_offset);
        info!(
            topic = %p.topic,
            partition = p.index,
            leader_epoch = diverging.epoch,
            leader_end_offset = diverging.end_offset,
            truncate_to = to,
            "follower log diverged from the leader's; truncating"
        );
        return p.truncate_to(to);
    }
    match pd.records.as_ref().filter(|r| !r.is_empty()) {
        Some(records) => p
            .append_as_follower(records, pd.high_watermark)
            .map(|_| ())?,
        None => p.on_leader_high_watermark(pd.high_watermark)?,
    }
    p.follow_log_start(pd.log_start_offset)
}
