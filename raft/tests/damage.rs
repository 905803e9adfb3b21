//! Damaged metadata is refused, never silently replaced (DESIGN §4): a
//! flipped block in the middle of `raft.log`, an emptied or deleted log, a
//! missing directory, a corrupt `snapshot.json`, a log compacted past a
//! missing snapshot and a damaged pre-quorum `metadata.log`. A torn tail
//! (the last append of a crash) is still cut and the quorum restarts with
//! everything before it.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use memorystreamer_raft::log_store::{LogStore, LOG_FILE};
use memorystreamer_raft::quorum::{MetadataDir, Quorum, QuorumConfig, QuorumError};
use memorystreamer_raft::state_machine::{StateMachine, SNAPSHOT_FILE};
use memorystreamer_raft::transport::PlainTcp;
use memorystreamer_raft::{MetadataError, MetadataLog, MetadataRecord};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(20);

fn config(dir: &Path) -> QuorumConfig {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    drop(l);
    QuorumConfig {
        node_id: 1,
        dir: dir.to_path_buf(),
        listen: addr.clone(),
        voters: [(1, addr)].into_iter().collect::<BTreeMap<_, _>>(),
        election_timeout: Duration::from_millis(600),
        session_timeout: Duration::from_secs(3),
        broker_heartbeat: Duration::from_millis(500),
        transport: std::sync::Arc::new(PlainTcp),
    }
}

/// A single-voter metadata directory holding topics `t0..t{n}`.
async fn written(n: usize) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().expect("tmp");
    let dir = root.path().join("__cluster_metadata-0");
    let q = Quorum::start(config(&dir)).await.expect("start");
    for i in 0..n {
        q.write(common::topic(Uuid::new_v4(), &format!("t{i}")), WAIT)
            .await
            .expect("write");
    }
    q.shutdown().await;
    (root, dir)
}

async fn restart_topics(dir: &Path, expect: usize) -> Quorum {
    let q = Quorum::start(config(dir)).await.expect("restart");
    q.wait_applied(WAIT).await.expect("applied");
    let deadline = Instant::now() + WAIT;
    while q.image().topics().count() != expect {
        assert!(Instant::now() < deadline, "topics not replayed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    q
}

fn assert_damaged(r: Result<MetadataDir, MetadataError>, file: &str, what: &str) {
    match r {
        Err(e @ MetadataError::Damaged { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(file), "{msg}");
            assert!(msg.contains(what), "{msg}");
            assert!(msg.contains("remove the whole data directory"), "{msg}");
        }
        other => panic!("expected damage in {file} ({what}), got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_in_the_middle_of_raft_log_is_refused_and_left_alone() {
    let (_root, dir) = written(5).await;
    let path = dir.join(LOG_FILE);
    let good = std::fs::read(&path).expect("read");
    assert!(good.len() > 200);
    // A flipped block in the middle, and a length byte flipped so the
    // frame runs past the end of the file while later frames are whole.
    let mut block = good.clone();
    for b in &mut block[good.len() / 2..good.len() / 2 + 16] {
        *b ^= 0x5a;
    }
    let mut length = good.clone();
    length[0] ^= 0x01;
    for (name, bad) in [("block", block), ("length", length)] {
        std::fs::write(&path, &bad).expect("damage");
        assert_damaged(Quorum::check_dir(&dir, true), LOG_FILE, "damaged at byte");
        assert_damaged(Quorum::check_dir(&dir, false), LOG_FILE, "damaged at byte");
        assert!(
            matches!(LogStore::open(&dir), Err(MetadataError::Damaged { .. })),
            "{name}"
        );
        match Quorum::start(config(&dir)).await {
            Err(QuorumError::Metadata(MetadataError::Damaged { .. })) => {}
            Err(e) => panic!("{name}: wrong error {e}"),
            Ok(q) => {
                q.shutdown().await;
                panic!("{name}: a damaged raft.log started");
            }
        }
        assert_eq!(
            std::fs::read(&path).expect("read"),
            bad,
            "{name}: file changed"
        );
    }
    std::fs::write(&path, &good).expect("restore");
    restart_topics(&dir, 5).await.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_tail_is_cut_and_the_rest_kept() {
    let (_root, dir) = written(3).await;
    let path = dir.join(LOG_FILE);
    let good = std::fs::read(&path).expect("read");
    // A partial frame: a header whose length runs past the end, with a
    // little JSON after it; then a zero-filled tail.
    for tail in [
        [&1000u32.to_be_bytes()[..], &[0, 0, 0, 0], b"{\"Entr"].concat(),
        vec![0u8; 64],
    ] {
        let mut torn = good.clone();
        torn.extend_from_slice(&tail);
        std::fs::write(&path, &torn).expect("tear");
        assert_eq!(
            Quorum::check_dir(&dir, true).expect("torn"),
            MetadataDir::Existing
        );
        let summary = LogStore::inspect(&dir).expect("inspect").expect("exists");
        assert_eq!(summary.torn_bytes, tail.len());
        assert_eq!(
            std::fs::read(&path).expect("read"),
            torn,
            "inspect changed it"
        );
        let q = restart_topics(&dir, 3).await;
        q.write(common::topic(Uuid::new_v4(), "after"), WAIT)
            .await
            .expect("write after the cut");
        q.shutdown().await;
        restart_topics(&dir, 4).await.shutdown().await;
        // Back to three topics for the next tail.
        std::fs::write(&path, &good).expect("restore");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_empty_metadata_of_a_formatted_dir_is_refused() {
    let (_root, dir) = written(1).await;
    let path = dir.join(LOG_FILE);
    assert_eq!(
        Quorum::check_dir(&dir, true).expect("intact"),
        MetadataDir::Existing
    );
    std::fs::write(&path, b"").expect("empty");
    assert_damaged(Quorum::check_dir(&dir, true), LOG_FILE, "is empty");
    // Never written and never formatted: a first start.
    assert_eq!(
        Quorum::check_dir(&dir, false).expect("new"),
        MetadataDir::New
    );
    std::fs::remove_file(&path).expect("delete");
    assert_damaged(Quorum::check_dir(&dir, true), LOG_FILE, "is missing");
    std::fs::remove_dir_all(&dir).expect("delete dir");
    assert_damaged(
        Quorum::check_dir(&dir, true),
        "__cluster_metadata-0",
        "metadata directory is missing",
    );
    assert_eq!(
        Quorum::check_dir(&dir, false).expect("new"),
        MetadataDir::New
    );
    assert!(!dir.exists(), "check_dir created the directory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_or_missing_snapshot_is_refused() {
    // More entries than the snapshot policy (1000): a snapshot is taken and
    // the log purged behind it.
    let (_root, dir) = written(1100).await;
    let snap = dir.join(SNAPSHOT_FILE);
    let good = std::fs::read(&snap).expect("snapshot written");
    assert_eq!(
        Quorum::check_dir(&dir, true).expect("intact"),
        MetadataDir::Existing
    );
    let mut bad = good.clone();
    bad.truncate(good.len() / 2);
    std::fs::write(&snap, &bad).expect("corrupt");
    assert_damaged(
        Quorum::check_dir(&dir, true),
        SNAPSHOT_FILE,
        "does not parse",
    );
    assert!(StateMachine::open(&dir).is_err());
    std::fs::remove_file(&snap).expect("delete");
    assert_damaged(
        Quorum::check_dir(&dir, true),
        SNAPSHOT_FILE,
        "was compacted up to index",
    );
    assert_damaged(Quorum::check_dir(&dir, false), SNAPSHOT_FILE, "is missing");
    std::fs::write(&snap, &good).expect("restore");
    // The log emptied with only the snapshot left: entries after it lost.
    let log = std::fs::read(dir.join(LOG_FILE)).expect("log");
    std::fs::write(dir.join(LOG_FILE), b"").expect("empty");
    assert_damaged(
        Quorum::check_dir(&dir, true),
        LOG_FILE,
        "entries after it are lost",
    );
    std::fs::write(dir.join(LOG_FILE), &log).expect("restore log");
    restart_topics(&dir, 1100).await.shutdown().await;
}

#[test]
fn damaged_pre_quorum_metadata_log_is_refused() {
    let root = tempfile::tempdir().expect("tmp");
    let dir = root.path().join("__cluster_metadata-0");
    let path = dir.join("metadata.log");
    let recs: Vec<MetadataRecord> = (1..=3)
        .map(|i| MetadataRecord::ProducerIdsAllocated {
            next_producer_id: i * 1000,
        })
        .collect();
    {
        let (mut log, _) = MetadataLog::open(&path).expect("open");
        log.append(&recs).expect("append");
    }
    assert_eq!(
        Quorum::check_dir(&dir, true).expect("legacy"),
        MetadataDir::Legacy
    );
    let good = std::fs::read(&path).expect("read");
    let mut bad = good.clone();
    bad[good.len() / 3 + 10] ^= 0xff;
    std::fs::write(&path, &bad).expect("damage");
    assert_damaged(
        Quorum::check_dir(&dir, true),
        "metadata.log",
        "damaged at byte",
    );
    assert!(matches!(
        MetadataLog::open(&path),
        Err(MetadataError::Damaged { .. })
    ));
    assert_eq!(std::fs::read(&path).expect("read"), bad, "file changed");
    // An emptied legacy log with no raft.log: nothing to start from.
    std::fs::write(&path, b"").expect("empty");
    assert_damaged(Quorum::check_dir(&dir, true), LOG_FILE, "is missing");
}
