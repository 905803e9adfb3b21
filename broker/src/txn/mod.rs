//! The transaction coordinator (KIP-98, KIP-360, KIP-447, KIP-890 part 1).
//!
//! Every transactional id belongs to partition
//! `abs(hash(id)) % transaction.state.log.num.partitions` of the internal
//! compacted topic `__transaction_state`; the broker hosting that partition
//! coordinates it. Each state change ([`state`]) is appended there
//! ([`records`], Kafka's schemas) before it is acted on or acknowledged, and
//! the hosted partitions are replayed on start.
//!
//! Ending a transaction is two-phase, as in Kafka: PrepareCommit or
//! PrepareAbort is made durable first (the decision), then a COMMIT or ABORT
//! control batch is written to every partition of the transaction (locally,
//! or with WriteTxnMarkers to the partition's leader), then CompleteCommit /
//! CompleteAbort is stored. A crash between the two is finished on restart
//! (markers are idempotent for the reader: a second marker of a finished
//! transaction ends nothing). EndTxn answers once the markers are written
//! (bounded wait; the decision is durable either way, so a slow leader
//! delays visibility, never changes the outcome). Open transactions past
//! their `transaction.timeout.ms` are aborted with the epoch bumped.
//!
//! One lock serialises the coordinator's state; it is never held across an
//! await. Not here: transactional offset commits (the group coordinator),
//! markers' effect on a partition (the log), transaction version 2
//! (KIP-890 part 2: implicit partition adds, per-transaction epoch bumps).

pub mod records;
pub mod state;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kafka_protocol::records::Record;
use tokio::sync::Notify;
use tracing::{debug, info, warn};

use self::state::{EndDecision, InitDecision, TxnError, TxnMetadata, TxnState};
use crate::broker::Broker;
use crate::error::BrokerError;
use crate::group::records::partition_for;
use crate::now_ms;

/// Name of the internal transaction state topic.
pub const TXN_TOPIC: &str = "__transaction_state";

/// Coordinator epoch written into markers (partition leader epochs are
/// always 0 until replication exists).
pub const COORDINATOR_EPOCH: i32 = 0;

/// How long EndTxn waits for the markers before answering anyway.
const END_TXN_WAIT: Duration = Duration::from_secs(15);

#[derive(Default)]
struct Inner {
    txns: HashMap<String, TxnMetadata>,
    /// Transactional ids whose markers a task is writing now.
    completing: HashSet<String>,
}

/// The coordinator of the transactional ids whose state partition is here.
pub struct TxnCoordinator {
    partitions: i32,
    max_timeout_ms: i32,
    id_expiration_ms: i64,
    inner: Mutex<Inner>,
    /// Fired whenever a transaction completes.
    completed: Notify,
}

impl TxnCoordinator {
    /// A coordinator with no state; [`TxnCoordinator::load`] replays.
    pub fn new(partitions: i32, max_timeout_ms: i32, id_expiration_ms: i64) -> Self {
        TxnCoordinator {
            partitions,
            max_timeout_ms,
            id_expiration_ms,
            inner: Mutex::new(Inner::default()),
            completed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `__transaction_state` partition of a transactional id.
    pub fn partition_of(&self, transactional_id: &str) -> i32 {
        partition_for(transactional_id, self.partitions)
    }

    /// Number of `__transaction_state` partitions.
    pub fn partition_count(&self) -> i32 {
        self.partitions
    }

    /// Replays the hosted `__transaction_state` partitions.
    pub fn load(&self, broker: &Broker) -> Result<(), BrokerError> {
        let Some(topic) = broker.topic(TXN_TOPIC) else {
            return Ok(());
        };
        let mut inner = self.lock();
        let mut records = 0usize;
        for p in topic.partitions.iter().flatten() {
            records += crate::internal_topic::replay(p, |r| apply_record(&mut inner, r))?;
        }
        if records > 0 {
            let pending = inner.txns.values().filter(|m| m.state.is_prepare()).count();
            info!(
                records,
                transactional_ids = inner.txns.len(),
                pending,
                "loaded transaction state"
            );
        }
        Ok(())
    }

    /// Writes the tombstone of an expired transactional id.
    fn persist_tombstone(
        &self,
        broker: &Broker,
        transactional_id: &str,
    ) -> Result<(), BrokerError> {
        self.append_record(broker, transactional_id, None)
    }

    /// Appends `meta` to its state partition before the caller acts on it
    /// (durable like any append: through a process crash at once, through
    /// power loss per the flush settings).
    fn persist(&self, broker: &Broker, meta: &TxnMetadata) -> Result<(), BrokerError> {
        self.append_record(
            broker,
            &meta.transactional_id,
            Some(records::encode_value(meta)),
        )
    }

    fn append_record(
        &self,
        broker: &Broker,
        transactional_id: &str,
        value: Option<bytes::Bytes>,
    ) -> Result<(), BrokerError> {
        let partition = broker
            .partition(TXN_TOPIC, self.partition_of(transactional_id))
            .ok_or(TxnError::NotCoordinator)?;
        let buf = crate::internal_topic::encode_batch(
            TXN_TOPIC,
            vec![(records::encode_key(transactional_id), value)],
            None,
        )?;
        partition.append(&buf)?;
        Ok(())
    }

    fn check_local(&self, broker: &Broker, transactional_id: &str) -> Result<(), BrokerError> {
        if broker
            .partition(TXN_TOPIC, self.partition_of(transactional_id))
            .is_none()
        {
            return Err(TxnError::NotCoordinator.into());
        }
        Ok(())
    }

    /// Stores `meta` (persist, then memory).
    fn store(
        &self,
        broker: &Broker,
        inner: &mut Inner,
        meta: TxnMetadata,
    ) -> Result<(), BrokerError> {
        self.persist(broker, &meta)?;
        inner.txns.insert(meta.transactional_id.clone(), meta);
        Ok(())
    }

    /// InitProducerId with a transactional id: the producer id and epoch
    /// to use. `expected` is KIP-360's current id and epoch (None: -1/-1).
    pub async fn init_producer_id(
        &self,
        broker: &Arc<Broker>,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
    ) -> Result<(i64, i16), BrokerError> {
        self.check_local(broker, transactional_id)?;
        let mut allocated = None;
        for _ in 0..3 {
            let need_id = {
                let mut inner = self.lock();
                let current = inner.txns.get(transactional_id).cloned();
                match state::init_producer_id(
                    current.as_ref(),
                    timeout_ms,
                    self.max_timeout_ms,
                    expected,
                    now_ms(),
                )? {
                    InitDecision::Ready(meta) => {
                        let answer = (meta.producer_id, meta.epoch);
                        self.store(broker, &mut inner, meta)?;
                        return Ok(answer);
                    }
                    InitDecision::AbortFirst(meta) => {
                        info!(
                            transactional_id,
                            producer_id = meta.producer_id,
                            epoch = meta.epoch,
                            "aborting the open transaction of a fenced instance"
                        );
                        self.store(broker, &mut inner, meta)?;
                        drop(inner);
                        self.spawn_completion(broker, transactional_id);
                        return Err(TxnError::ConcurrentTransactions.into());
                    }
                    InitDecision::NeedProducerId => match allocated {
                        Some(pid) => {
                            let meta = state::with_new_producer_id(
                                transactional_id,
                                pid,
                                timeout_ms,
                                now_ms(),
                            );
                            self.store(broker, &mut inner, meta)?;
                            return Ok((pid, 0));
                        }
                        None => true,
                    },
                }
            };
            if need_id {
                allocated = Some(broker.allocate_producer_id().await?);
            }
        }
        Err(TxnError::ConcurrentTransactions.into())
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn.
    pub fn add_partitions(
        &self,
        broker: &Broker,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
    ) -> Result<(), BrokerError> {
        self.check_local(broker, transactional_id)?;
        let mut inner = self.lock();
        let meta = inner
            .txns
            .get(transactional_id)
            .ok_or(TxnError::InvalidProducerIdMapping)?;
        if let Some(next) = state::add_partitions(meta, producer_id, epoch, partitions, now_ms())? {
            self.store(broker, &mut inner, next)?;
        }
        Ok(())
    }

    /// KIP-890: is `partition` in the open transaction of this producer?
    pub fn verify(
        &self,
        broker: &Broker,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partition: &(String, i32),
    ) -> Result<(), BrokerError> {
        self.check_local(broker, transactional_id)?;
        let inner = self.lock();
        let meta = inner
            .txns
            .get(transactional_id)
            .ok_or(TxnError::InvalidProducerIdMapping)?;
        Ok(state::verify_partition(
            meta,
            producer_id,
            epoch,
            partition,
        )?)
    }

    /// EndTxn: commit or abort, answered once the markers are written (or
    /// after a bounded wait; the outcome is decided and durable by then).
    pub async fn end_txn(
        &self,
        broker: &Arc<Broker>,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
    ) -> Result<(), BrokerError> {
        self.check_local(broker, transactional_id)?;
        {
            let mut inner = self.lock();
            let meta = inner
                .txns
                .get(transactional_id)
                .ok_or(TxnError::InvalidProducerIdMapping)?;
            match state::end_txn(meta, producer_id, epoch, commit, now_ms())? {
                EndDecision::AlreadyDone => return Ok(()),
                EndDecision::Prepare(next) => self.store(broker, &mut inner, next)?,
            }
        }
        self.spawn_completion(broker, transactional_id);
        let deadline = tokio::time::Instant::now() + END_TXN_WAIT;
        loop {
            let notified = self.completed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let done = self
                .lock()
                .txns
                .get(transactional_id)
                .is_none_or(|m| !m.state.is_prepare());
            if done {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                warn!(
                    transactional_id,
                    "markers not yet written when EndTxn answered; completing in the background"
                );
                return Ok(());
            }
        }
    }

    /// Starts writing the markers of a Prepare state (unless a task is
    /// already at it); retried until done.
    fn spawn_completion(&self, broker: &Arc<Broker>, transactional_id: &str) {
        if !self.lock().completing.insert(transactional_id.to_string()) {
            return;
        }
        let broker = Arc::clone(broker);
        let id = transactional_id.to_string();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(50);
            loop {
                // The task ends (and frees its slot) under the same lock that
                // sees no Prepare state, so a Prepare stored later always
                // finds the slot free and starts its own task.
                let meta = {
                    let coordinator = broker.txn();
                    let mut inner = coordinator.lock();
                    match inner.txns.get(&id).filter(|m| m.state.is_prepare()) {
                        Some(m) => m.clone(),
                        None => {
                            inner.completing.remove(&id);
                            break;
                        }
                    }
                };
                let commit = meta.state == TxnState::PrepareCommit;
                match broker
                    .write_txn_markers(meta.producer_id, meta.epoch, commit, &meta.partitions)
                    .await
                {
                    Ok(()) => {
                        let stored = {
                            let coordinator = broker.txn();
                            let mut inner = coordinator.lock();
                            if inner.txns.get(&id) == Some(&meta) {
                                let done = state::complete(&meta, now_ms());
                                coordinator.store(&broker, &mut inner, done)
                            } else {
                                Ok(())
                            }
                        };
                        match stored {
                            Ok(()) => {
                                debug!(transactional_id = %id, commit, "transaction completed");
                            }
                            Err(e) => {
                                warn!(transactional_id = %id, error = %e, "cannot store completed transaction; retrying");
                                tokio::time::sleep(backoff).await;
                            }
                        }
                    }
                    Err(e) => {
                        warn!(transactional_id = %id, error = %e, "writing transaction markers failed; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
            broker.txn().completed.notify_waiters();
        });
    }

    /// Aborts expired transactions and resumes unfinished completions
    /// (after a restart). Called periodically.
    pub fn tick(&self, broker: &Arc<Broker>) {
        let now = now_ms();
        let mut resume = Vec::new();
        {
            let mut inner = self.lock();
            let expired: Vec<TxnMetadata> = inner
                .txns
                .values()
                .filter_map(|m| state::expire(m, now))
                .collect();
            for meta in expired {
                if broker
                    .partition(TXN_TOPIC, self.partition_of(&meta.transactional_id))
                    .is_none()
                {
                    continue;
                }
                info!(
                    transactional_id = %meta.transactional_id,
                    producer_id = meta.producer_id,
                    timeout_ms = meta.timeout_ms,
                    "aborting a transaction past its timeout"
                );
                let id = meta.transactional_id.clone();
                match self.store(broker, &mut inner, meta) {
                    Ok(()) => {
                        crate::metrics::txn_timed_out();
                        resume.push(id)
                    }
                    Err(e) => {
                        warn!(transactional_id = %id, error = %e, "cannot abort expired transaction")
                    }
                }
            }
            for (id, m) in &inner.txns {
                if m.state.is_prepare() && !inner.completing.contains(id) {
                    resume.push(id.clone());
                }
            }
            // transactional.id.expiration.ms: ids idle without a transaction.
            let horizon = now.saturating_sub(self.id_expiration_ms);
            let expired: Vec<String> = inner
                .txns
                .values()
                .filter(|m| {
                    matches!(
                        m.state,
                        TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
                    ) && m.update_ms < horizon
                })
                .map(|m| m.transactional_id.clone())
                .collect();
            for id in expired {
                if broker
                    .partition(TXN_TOPIC, self.partition_of(&id))
                    .is_none()
                {
                    continue;
                }
                match self.persist_tombstone(broker, &id) {
                    Ok(()) => {
                        inner.txns.remove(&id);
                        info!(transactional_id = %id, "transactional id expired");
                    }
                    Err(e) => {
                        warn!(transactional_id = %id, error = %e, "cannot expire transactional id")
                    }
                }
            }
        }
        for id in resume {
            self.spawn_completion(broker, &id);
        }
    }

    /// How many transactional ids this coordinator holds in each state.
    pub fn count_by_state(&self) -> HashMap<TxnState, u64> {
        let mut out = HashMap::new();
        for m in self.lock().txns.values() {
            *out.entry(m.state).or_default() += 1;
        }
        out
    }

    /// DescribeTransactions: the state of each id (None: unknown here).
    pub fn describe(&self, transactional_id: &str) -> Option<TxnMetadata> {
        self.lock().txns.get(transactional_id).cloned()
    }

    /// ListTransactions: every id, filtered by state names (empty: all),
    /// producer ids (empty: all) and minimum running time (ms, -1: any).
    pub fn list(
        &self,
        states: &[String],
        producer_ids: &[i64],
        min_duration_ms: i64,
    ) -> Vec<(String, i64, TxnState)> {
        let now = now_ms();
        let inner = self.lock();
        let mut out: Vec<(String, i64, TxnState)> = inner
            .txns
            .values()
            .filter(|m| states.is_empty() || states.iter().any(|s| s == m.state.name()))
            .filter(|m| producer_ids.is_empty() || producer_ids.contains(&m.producer_id))
            .filter(|m| {
                min_duration_ms < 0
                    || (m.state == TxnState::Ongoing
                        && m.start_ms >= 0
                        && now - m.start_ms >= min_duration_ms)
            })
            .map(|m| (m.transactional_id.clone(), m.producer_id, m.state))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

fn apply_record(inner: &mut Inner, r: &Record) {
    let Some(key) = r.key.as_ref() else { return };
    let id = match records::decode_key(key) {
        Ok(id) => id,
        Err(e) => {
            warn!(error = %e, offset = r.offset, "skipping undecodable {TXN_TOPIC} key");
            return;
        }
    };
    match r.value.as_ref() {
        None => {
            inner.txns.remove(&id);
        }
        Some(v) => match records::decode_value(&id, v) {
            Ok(meta) => {
                inner.txns.insert(id, meta);
            }
            Err(e) => {
                warn!(error = %e, offset = r.offset, "skipping undecodable {TXN_TOPIC} value")
            }
        },
    }
}

/// Partitions grouped by topic, for requests and responses.
pub fn by_topic(partitions: &BTreeSet<(String, i32)>) -> BTreeMap<String, Vec<i32>> {
    let mut out: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for (t, p) in partitions {
        out.entry(t.clone()).or_default().push(*p);
    }
    out
}

/// KIP-890: asks the coordinator whether `topic-index` is in the open
/// transaction of this producer.
pub async fn verify_in_transaction(
    broker: &Arc<Broker>,
    txn_id: &str,
    producer_id: i64,
    epoch: i16,
    topic: &str,
    index: i32,
) -> Result<(), BrokerError> {
    use kafka_protocol::messages::add_partitions_to_txn_request::{
        AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
    };
    use kafka_protocol::messages::{
        AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey, ProducerId, TopicName,
        TransactionalId,
    };
    let tp = (topic.to_string(), index);
    let (node, host, port) = broker.txn_coordinator(txn_id).await?;
    if node == broker.config.node_id {
        return broker.txn().verify(broker, txn_id, producer_id, epoch, &tp);
    }
    let req = AddPartitionsToTxnRequest::default().with_transactions(vec![
        AddPartitionsToTxnTransaction::default()
            .with_transactional_id(TransactionalId(crate::util::sb(txn_id)))
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(epoch)
            .with_verify_only(true)
            .with_topics(vec![AddPartitionsToTxnTopic::default()
                .with_name(TopicName(crate::util::sb(topic)))
                .with_partitions(vec![index])]),
    ]);
    let resp: AddPartitionsToTxnResponse = crate::interbroker::call(
        &host,
        port,
        ApiKey::AddPartitionsToTxn,
        4,
        &req,
        std::time::Duration::from_secs(10),
    )
    .await?;
    let code = resp
        .results_by_transaction
        .iter()
        .flat_map(|t| &t.topic_results)
        .flat_map(|t| &t.results_by_partition)
        .map(|p| p.partition_error_code)
        .find(|c| *c != 0)
        .unwrap_or(resp.error_code);
    match kafka_protocol::ResponseError::try_from_code(code) {
        None => Ok(()),
        Some(kafka_protocol::ResponseError::ProducerFenced)
        | Some(kafka_protocol::ResponseError::InvalidProducerEpoch) => {
            Err(TxnError::ProducerFenced.into())
        }
        Some(kafka_protocol::ResponseError::InvalidProducerIdMapping) => {
            Err(TxnError::InvalidProducerIdMapping.into())
        }
        Some(kafka_protocol::ResponseError::NotCoordinator)
        | Some(kafka_protocol::ResponseError::CoordinatorNotAvailable) => {
            Err(BrokerError::NotLeaderOrFollower)
        }
        Some(_) => Err(TxnError::InvalidTxnState.into()),
    }
}
