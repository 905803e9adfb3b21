//! The transaction coordinator moving with leadership of
//! `__transaction_state` partitions, on two in-memory nodes (node B opens a
//! copy of node A's logs, as a follower that fetched everything): a commit
//! decided on A that died before its markers is finished by B (markers
//! sent, CompleteCommit stored), an open transaction past its timeout is
//! aborted by B's tick, A answers NOT_COORDINATOR, a partition being
//! replayed answers COORDINATOR_LOAD_IN_PROGRESS, and repeated
//! notifications neither reload nor resend markers.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::state::{TxnError, TxnState};
use super::{TxnCoordinator, TXN_TOPIC};
use crate::coordinator::memory::{MemoryHost, SentMarker};
use crate::coordinator::{InternalLog, OFFSETS_TOPIC};
use crate::error::BrokerError;
use crate::group::protocol::GroupConfig;
use crate::group::GroupCoordinator;
use crate::replica::partition::Partition;

const PARTITIONS: i32 = 3;
/// Node id of node B.
const NODE_B: i32 = 2;

fn coordinator() -> TxnCoordinator {
    TxnCoordinator::new(PARTITIONS, 900_000, 604_800_000)
}

/// Node A: every partition led here and loaded.
fn node_a(dir: &Path) -> (Arc<MemoryHost>, TxnCoordinator) {
    let host = MemoryHost::open(
        dir,
        &[
            (OFFSETS_TOPIC, PARTITIONS),
            (TXN_TOPIC, PARTITIONS),
            ("t", 1),
        ],
        GroupCoordinator::new(GroupConfig::default(), PARTITIONS),
    )
    .expect("open node A");
    host.groups.load(&host).expect("load groups");
    let txn = coordinator();
    txn.load(&host).expect("load transactions");
    (host, txn)
}

/// Node B: a copy of node A's logs; its coordinator has loaded nothing
/// and has ticked once (as the broker's timer does at start).
fn node_b(a: &MemoryHost, dir: &Path) -> (Arc<MemoryHost>, TxnCoordinator) {
    let host = a
        .open_copy(
            dir,
            GroupCoordinator::new(GroupConfig::default(), PARTITIONS),
        )
        .expect("open node B");
    let txn = coordinator();
    txn.tick(&host);
    (host, txn)
}

/// An open transaction of "tx" on A with `t-0` in it.
async fn begin(a: &Arc<MemoryHost>, txn: &TxnCoordinator, timeout_ms: i32) -> (i64, i16) {
    let (pid, epoch) = txn
        .init_producer_id(a, "tx", timeout_ms, None)
        .await
        .expect("init");
    txn.add_partitions(a.as_ref(), "tx", pid, epoch, &[("t".into(), 0)])
        .expect("add partitions");
    (pid, epoch)
}

/// A decides to commit "tx" (PrepareCommit durable) and dies before
/// writing any marker.
fn decide_commit_and_die(a: &MemoryHost, txn: &TxnCoordinator) {
    let mut meta = txn.describe("tx").expect("known");
    meta.state = TxnState::PrepareCommit;
    txn.persist(a, &meta).expect("persist the decision");
    assert!(a.sent_markers().is_empty());
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_decided_by_a_dead_coordinator_is_finished_by_the_new_leader() {
    let dirs = [(); 3].map(|_| tempfile::tempdir().expect("tempdir"));
    let (a, txn_a) = node_a(dirs[0].path());
    let (pid, epoch) = begin(&a, &txn_a, 60_000).await;
    let p = txn_a.partition_of("tx");
    decide_commit_and_die(&a, &txn_a);
    let (b, txn_b) = node_b(&a, dirs[1].path());
    assert!(matches!(
        txn_b.end_txn(&b, "tx", pid, epoch, true).await,
        Err(BrokerError::Txn(TxnError::NotCoordinator))
    ));

    a.follow(TXN_TOPIC, p, 1, NODE_B).expect("A follows");
    txn_a.on_leadership_change(a.as_ref(), p, false, 1);
    b.lead(TXN_TOPIC, p, 1).expect("B leads");
    txn_b.on_leadership_change(b.as_ref(), p, true, 1);

    wait_for("B to complete the commit", || {
        txn_b.describe("tx").map(|m| m.state) == Some(TxnState::CompleteCommit)
    })
    .await;
    assert_eq!(
        b.sent_markers(),
        vec![SentMarker {
            producer_id: pid,
            epoch,
            commit: true,
            partitions: [("t".to_string(), 0)].into(),
        }]
    );
    let t0 = b.partition("t", 0).expect("t-0");
    assert_eq!(
        t0.high_watermark(),
        1,
        "the marker is in the data partition"
    );
    assert_eq!(t0.last_stable_offset(), 1);

    let err = txn_a
        .end_txn(&a, "tx", pid, epoch, true)
        .await
        .expect_err("A no longer coordinates");
    assert_eq!(err.code(), 16, "NOT_COORDINATOR");
    assert!(txn_a.describe("tx").is_none(), "dropped from A's memory");

    // CompleteCommit is durable: a node replaying B's log sees it.
    let c = b
        .open_copy(
            dirs[2].path(),
            GroupCoordinator::new(GroupConfig::default(), PARTITIONS),
        )
        .expect("open node C");
    let txn_c = coordinator();
    txn_c.load(&c).expect("load");
    assert_eq!(
        txn_c
            .describe("tx")
            .map(|m| (m.producer_id, m.epoch, m.state)),
        Some((pid, epoch, TxnState::CompleteCommit))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_transaction_of_a_moved_partition_times_out_on_the_new_leader() {
    let dirs = [(); 2].map(|_| tempfile::tempdir().expect("tempdir"));
    let (a, txn_a) = node_a(dirs[0].path());
    let (pid, epoch) = begin(&a, &txn_a, 1).await;
    let p = txn_a.partition_of("tx");
    let (b, txn_b) = node_b(&a, dirs[1].path());
    a.follow(TXN_TOPIC, p, 1, NODE_B).expect("A follows");
    txn_a.on_leadership_change(a.as_ref(), p, false, 1);
    b.lead(TXN_TOPIC, p, 1).expect("B leads");
    txn_b.on_leadership_change(b.as_ref(), p, true, 1);
    assert_eq!(
        txn_b.describe("tx").map(|m| m.state),
        Some(TxnState::Ongoing)
    );

    wait_for("B to abort the expired transaction", || {
        txn_b.tick(&b);
        txn_b.describe("tx").map(|m| m.state) == Some(TxnState::CompleteAbort)
    })
    .await;
    let markers = b.sent_markers();
    assert_eq!(markers.len(), 1);
    assert_eq!((markers[0].producer_id, markers[0].commit), (pid, false));
    assert!(markers[0].epoch > epoch, "aborted with the epoch bumped");
    txn_a.tick(&a);
    assert!(a.sent_markers().is_empty(), "A times out nothing it lost");
}

/// A log that records what the coordinator answers for "tx" whenever the
/// replay asks it for a partition (while the partition is loading).
struct Probe<'a> {
    host: &'a MemoryHost,
    txn: &'a TxnCoordinator,
    replays: AtomicUsize,
    seen: Mutex<Vec<Result<(), TxnError>>>,
}

impl InternalLog for Probe<'_> {
    fn internal_partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        self.replays.fetch_add(1, Ordering::SeqCst);
        // Would deadlock if the load held the coordinator's lock here.
        let answer = self.txn.check_coordinator("tx");
        self.seen.lock().expect("probe lock").push(answer);
        self.host.internal_partition(topic, index)
    }

    fn internal_partitions(&self, topic: &str) -> Vec<Arc<Partition>> {
        self.host.internal_partitions(topic)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loading_state_partition_answers_load_in_progress_and_repeats_change_nothing() {
    let dirs = [(); 2].map(|_| tempfile::tempdir().expect("tempdir"));
    let (a, txn_a) = node_a(dirs[0].path());
    let (pid, epoch) = begin(&a, &txn_a, 60_000).await;
    let p = txn_a.partition_of("tx");
    decide_commit_and_die(&a, &txn_a);
    let (b, txn_b) = node_b(&a, dirs[1].path());
    b.lead(TXN_TOPIC, p, 1).expect("B leads");
    let probe = Probe {
        host: &b,
        txn: &txn_b,
        replays: AtomicUsize::new(0),
        seen: Mutex::new(Vec::new()),
    };

    txn_b.on_leadership_change(&probe, p, true, 1);
    assert_eq!(
        *probe.seen.lock().expect("probe lock"),
        vec![Err(TxnError::CoordinatorLoadInProgress)],
        "answered during the replay, which does not hold the lock"
    );
    assert_eq!(
        BrokerError::Txn(TxnError::CoordinatorLoadInProgress).code(),
        14
    );
    wait_for("B to complete the commit", || {
        txn_b.describe("tx").map(|m| m.state) == Some(TxnState::CompleteCommit)
    })
    .await;

    txn_b.on_leadership_change(&probe, p, true, 1);
    txn_b.on_leadership_change(&probe, p, true, 0);
    assert_eq!(
        probe.replays.load(Ordering::SeqCst),
        1,
        "the same or an older epoch does not reload"
    );
    b.lead(TXN_TOPIC, p, 2).expect("B leads at epoch 2");
    txn_b.on_leadership_change(&probe, p, true, 2);
    assert_eq!(
        probe.replays.load(Ordering::SeqCst),
        2,
        "a newer epoch reloads"
    );
    assert_eq!(
        txn_b.describe("tx").map(|m| m.state),
        Some(TxnState::CompleteCommit),
        "reloaded from the log"
    );
    txn_b.tick(&b);
    assert_eq!(
        b.sent_markers().len(),
        1,
        "a finished transaction is not resent"
    );

    txn_b.on_leadership_change(&probe, p, false, 2);
    txn_b.on_leadership_change(&probe, p, false, 2);
    assert_eq!(txn_b.check_coordinator("tx"), Err(TxnError::NotCoordinator));
    assert!(matches!(
        txn_b.end_txn(&b, "tx", pid, epoch, true).await,
        Err(BrokerError::Txn(TxnError::NotCoordinator))
    ));
    assert!(txn_b.loaded_partitions().iter().all(|(q, _)| *q != p));
}
