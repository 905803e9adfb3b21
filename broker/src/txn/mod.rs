//! The transaction coordinator (KIP-98, KIP-360, KIP-447, KIP-890 part 1).
//!
//! Every transactional id belongs to partition
//! `abs(hash(id)) % transaction.state.log.num.partitions` of the internal
//! compacted topic `__transaction_state`; the broker leading that partition
//! coordinates it. Each state change ([`state`]) is appended there
//! ([`records`], Kafka's schemas) before it is acted on or acknowledged.
//! When this node becomes leader of a state partition it replays it
//! ([`load`]; its ids answer COORDINATOR_LOAD_IN_PROGRESS meanwhile) and
//! finishes the transactions found prepared, as Kafka's coordinator does on
//! load; when it stops leading one it drops its ids (NOT_COORDINATOR).
//!
//! Ending a transaction is two-phase, as in Kafka: PrepareCommit or
//! PrepareAbort is made durable first (the decision), then a COMMIT or ABORT
//! control batch is written to every partition of the transaction (locally,
//! or with WriteTxnMarkers to the partition's leader), then CompleteCommit /
//! CompleteAbort is stored. A crash between the two is finished by the
//! state partition's next leader, or on restart (markers are idempotent for the reader: a second marker of a finished
//! transaction ends nothing). EndTxn answers once the markers are written
//! (bounded wait; the decision is durable either way, so a slow leader
//! delays visibility, never changes the outcome). Open transactions past
//! their `transaction.timeout.ms` are aborted with the epoch bumped.
//!
//! One lock serialises the coordinator's state; it is never held across an
//! await. The coordinator reaches the node it runs on only through
//! [`TxnHost`] (hosted `__transaction_state` partitions, producer ids from
//! the metadata quorum, the marker channel), so it is tested on the
//! in-memory host as well as on the broker.
//!
//! Not here: transactional offset commits (the group coordinator, settled
//! by the markers that reach `__consumer_offsets`), markers' effect on a
//! partition (the log), KIP-890 verification of a produce against a remote
//! coordinator (`crate::host`), transaction version 2 (KIP-890 part 2:
//! implicit partition adds, per-transaction epoch bumps).

#[cfg(test)]
mod leadership_tests;
mod load;
pub mod records;
pub mod state;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;
use tracing::{debug, info, warn};

use self::state::{EndDecision, InitDecision, TxnError, TxnMetadata, TxnState};
use crate::coordinator::loading::{LoadStatus, PartitionLoads};
pub use crate::coordinator::TXN_TOPIC;
use crate::coordinator::{InternalLog, TxnHost};
use crate::error::BrokerError;
use crate::group::records::partition_for;
use crate::now_ms;

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
    /// The state partitions led and loaded (or loading) here.
    loads: PartitionLoads,
}

impl Inner {
    /// Whether `partition`'s transactional ids are served here.
    fn status(&self, partition: i32) -> Result<(), TxnError> {
        match self.loads.status(partition) {
            LoadStatus::Loaded => Ok(()),
            LoadStatus::Loading => Err(TxnError::CoordinatorLoadInProgress),
            LoadStatus::NotHere => Err(TxnError::NotCoordinator),
        }
    }
}

/// The coordinator of the transactional ids whose state partition is here.
pub struct TxnCoordinator {
    /// Shared with the tasks writing markers.
    core: Arc<Core>,
}

/// The coordinator's settings and state.
struct Core {
    partitions: i32,
    max_timeout_ms: i32,
    id_expiration_ms: i64,
    inner: Mutex<Inner>,
    /// Fired whenever a transaction completes.
    completed: Notify,
    /// Starts the completion of a prepared id on the host last seen (see
    /// `TxnCoordinator::remember_host`).
    completer: OnceLock<Completer>,
}

/// Starts a completion task for a transactional id.
type Completer = Box<dyn Fn(&Arc<Core>, &str) + Send + Sync>;

impl Core {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn partition_of(&self, transactional_id: &str) -> i32 {
        partition_for(transactional_id, self.partitions)
    }

    /// Writes the tombstone of an expired transactional id.
    fn persist_tombstone(
        &self,
        log: &dyn InternalLog,
        transactional_id: &str,
    ) -> Result<(), BrokerError> {
        self.append_record(log, transactional_id, None)
    }

    /// Appends `meta` to its state partition before the caller acts on it
    /// (durable like any append: through a process crash at once, through
    /// power loss per the flush settings).
    fn persist(&self, log: &dyn InternalLog, meta: &TxnMetadata) -> Result<(), BrokerError> {
        self.append_record(
            log,
            &meta.transactional_id,
            Some(records::encode_value(meta)),
        )
    }

    fn append_record(
        &self,
        log: &dyn InternalLog,
        transactional_id: &str,
        value: Option<bytes::Bytes>,
    ) -> Result<(), BrokerError> {
        let partition = log
            .internal_partition(TXN_TOPIC, self.partition_of(transactional_id))
            .ok_or(TxnError::NotCoordinator)?;
        let buf = crate::internal_topic::encode_batch(
            TXN_TOPIC,
            vec![(records::encode_key(transactional_id), value)],
            None,
        )?;
        match partition.append(&buf) {
            Ok(_) => Ok(()),
            // No longer the leader: the client finds the new coordinator.
            Err(BrokerError::NotLeaderOrFollower) => Err(TxnError::NotCoordinator.into()),
            Err(e) => Err(e),
        }
    }

    /// Stores `meta` (persist, then memory).
    fn store(
        &self,
        log: &dyn InternalLog,
        inner: &mut Inner,
        meta: TxnMetadata,
    ) -> Result<(), BrokerError> {
        self.persist(log, &meta)?;
        inner.txns.insert(meta.transactional_id.clone(), meta);
        Ok(())
    }
}

impl TxnCoordinator {
    /// A coordinator with no state; [`TxnCoordinator::load`] replays.
    pub fn new(partitions: i32, max_timeout_ms: i32, id_expiration_ms: i64) -> Self {
        TxnCoordinator {
            core: Arc::new(Core {
                partitions,
                max_timeout_ms,
                id_expiration_ms,
                inner: Mutex::new(Inner::default()),
                completed: Notify::new(),
                completer: OnceLock::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.core.lock()
    }

    fn store(
        &self,
        log: &dyn InternalLog,
        inner: &mut Inner,
        meta: TxnMetadata,
    ) -> Result<(), BrokerError> {
        self.core.store(log, inner, meta)
    }

    /// Appends `meta` without acting on it (tests simulate a crash right
    /// after a decision became durable).
    #[cfg(test)]
    pub(crate) fn persist(
        &self,
        log: &dyn InternalLog,
        meta: &TxnMetadata,
    ) -> Result<(), BrokerError> {
        self.core.persist(log, meta)
    }

    /// The `__transaction_state` partition of a transactional id.
    pub fn partition_of(&self, transactional_id: &str) -> i32 {
        self.core.partition_of(transactional_id)
    }

    /// Number of `__transaction_state` partitions.
    pub fn partition_count(&self) -> i32 {
        self.core.partitions
    }

    /// Whether this node coordinates `transactional_id` now: Ok once its
    /// state partition is led and loaded here, COORDINATOR_LOAD_IN_PROGRESS
    /// while it is being replayed, NOT_COORDINATOR otherwise.
    pub fn check_coordinator(&self, transactional_id: &str) -> Result<(), TxnError> {
        self.lock().status(self.partition_of(transactional_id))
    }

    fn check_local(&self, transactional_id: &str) -> Result<(), BrokerError> {
        Ok(self.check_coordinator(transactional_id)?)
    }

    /// InitProducerId with a transactional id: the producer id and epoch
    /// to use. `expected` is KIP-360's current id and epoch (None: -1/-1).
    pub async fn init_producer_id<H: TxnHost>(
        &self,
        host: &Arc<H>,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
    ) -> Result<(i64, i16), BrokerError> {
        let log: &dyn InternalLog = host.as_ref();
        self.check_local(transactional_id)?;
        let mut allocated = None;
        for _ in 0..3 {
            let need_id = {
                let mut inner = self.lock();
                let current = inner.txns.get(transactional_id).cloned();
                match state::init_producer_id(
                    current.as_ref(),
                    timeout_ms,
                    self.core.max_timeout_ms,
                    expected,
                    now_ms(),
                )? {
                    InitDecision::Ready(meta) => {
                        let answer = (meta.producer_id, meta.epoch);
                        self.store(log, &mut inner, meta)?;
                        return Ok(answer);
                    }
                    InitDecision::AbortFirst(meta) => {
                        info!(
                            transactional_id,
                            producer_id = meta.producer_id,
                            epoch = meta.epoch,
                            "aborting the open transaction of a fenced instance"
                        );
                        self.store(log, &mut inner, meta)?;
                        drop(inner);
                        self.spawn_completion(host, transactional_id);
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
                            self.store(log, &mut inner, meta)?;
                            return Ok((pid, 0));
                        }
                        None => true,
                    },
                }
            };
            if need_id {
                allocated = Some(host.next_producer_id().await?);
            }
        }
        Err(TxnError::ConcurrentTransactions.into())
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn.
    pub fn add_partitions(
        &self,
        log: &dyn InternalLog,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
    ) -> Result<(), BrokerError> {
        self.check_local(transactional_id)?;
        let mut inner = self.lock();
        let meta = inner
            .txns
            .get(transactional_id)
            .ok_or(TxnError::InvalidProducerIdMapping)?;
        if let Some(next) = state::add_partitions(meta, producer_id, epoch, partitions, now_ms())? {
            self.store(log, &mut inner, next)?;
        }
        Ok(())
    }

    /// KIP-890: is `partition` in the open transaction of this producer?
    pub fn verify(
        &self,
        _log: &dyn InternalLog,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partition: &(String, i32),
    ) -> Result<(), BrokerError> {
        self.check_local(transactional_id)?;
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
    pub async fn end_txn<H: TxnHost>(
        &self,
        host: &Arc<H>,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
    ) -> Result<(), BrokerError> {
        let log: &dyn InternalLog = host.as_ref();
        self.check_local(transactional_id)?;
        {
            let mut inner = self.lock();
            let meta = inner
                .txns
                .get(transactional_id)
                .ok_or(TxnError::InvalidProducerIdMapping)?;
            match state::end_txn(meta, producer_id, epoch, commit, now_ms())? {
                EndDecision::AlreadyDone => return Ok(()),
                EndDecision::Prepare(next) => self.store(log, &mut inner, next)?,
            }
        }
        self.spawn_completion(host, transactional_id);
        let deadline = tokio::time::Instant::now() + END_TXN_WAIT;
        loop {
            let notified = self.core.completed.notified();
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
    fn spawn_completion<H: TxnHost>(&self, host: &Arc<H>, transactional_id: &str) {
        self.remember_host(host);
        spawn_completion(&self.core, host, transactional_id);
    }

    /// Keeps a weak handle on the host, so a partition loaded by
    /// [`TxnCoordinator::on_leadership_change`] (which gets no `Arc`)
    /// starts its completions at once rather than at the next tick.
    fn remember_host<H: TxnHost>(&self, host: &Arc<H>) {
        if self.core.completer.get().is_some() {
            return;
        }
        let host = Arc::downgrade(host);
        let _ = self.core.completer.set(Box::new(move |core, id| {
            if let Some(host) = host.upgrade() {
                spawn_completion(core, &host, id);
            }
        }));
    }

    /// Aborts expired transactions and resumes unfinished completions
    /// (after a restart). Called periodically.
    pub fn tick<H: TxnHost>(&self, host: &Arc<H>) {
        self.remember_host(host);
        let log: &dyn InternalLog = host.as_ref();
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
                if inner
                    .status(self.partition_of(&meta.transactional_id))
                    .is_err()
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
                match self.store(log, &mut inner, meta) {
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
                if m.state.is_prepare()
                    && !inner.completing.contains(id)
                    && inner.status(self.partition_of(id)).is_ok()
                {
                    resume.push(id.clone());
                }
            }
            // transactional.id.expiration.ms: ids idle without a transaction.
            let horizon = now.saturating_sub(self.core.id_expiration_ms);
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
                if inner.status(self.partition_of(&id)).is_err() {
                    continue;
                }
                match self.core.persist_tombstone(log, &id) {
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
            self.spawn_completion(host, &id);
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

/// Starts writing the markers of `transactional_id`'s Prepare state
/// (unless a task is already at it, or no Tokio runtime runs: the next tick
/// resumes it); retried until done or until the id is no longer prepared
/// here (completed, or its partition unloaded).
fn spawn_completion<H: TxnHost>(core: &Arc<Core>, host: &Arc<H>, transactional_id: &str) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    if !core.lock().completing.insert(transactional_id.to_string()) {
        return;
    }
    let host = Arc::clone(host);
    let core = Arc::clone(core);
    let id = transactional_id.to_string();
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(50);
        loop {
            // The task ends (and frees its slot) under the same lock that
            // sees no Prepare state, so a Prepare stored later always
            // finds the slot free and starts its own task.
            let meta = {
                let mut inner = core.lock();
                match inner.txns.get(&id).filter(|m| m.state.is_prepare()) {
                    Some(m) => m.clone(),
                    None => {
                        inner.completing.remove(&id);
                        break;
                    }
                }
            };
            let commit = meta.state == TxnState::PrepareCommit;
            match host
                .write_markers(meta.producer_id, meta.epoch, commit, &meta.partitions)
                .await
            {
                Ok(()) => {
                    let stored = {
                        let mut inner = core.lock();
                        if inner.txns.get(&id) == Some(&meta) {
                            let done = state::complete(&meta, now_ms());
                            core.store(host.as_ref(), &mut inner, done)
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
        core.completed.notify_waiters();
    });
}

/// Partitions grouped by topic, for requests and responses.
pub fn by_topic(partitions: &BTreeSet<(String, i32)>) -> BTreeMap<String, Vec<i32>> {
    let mut out: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for (t, p) in partitions {
        out.entry(t.clone()).or_default().push(*p);
    }
    out
}
