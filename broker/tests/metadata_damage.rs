//! Issue 12, item 12: a damaged or missing metadata log is never silently
//! replaced (DESIGN §4). The real binary is started on a data directory
//! that has topics and handed out producer ids, then damaged: a flipped
//! block in the middle of `raft.log`, `raft.log` emptied, `raft.log`
//! deleted, `__cluster_metadata-0` deleted, `snapshot.json` corrupt. Each
//! start must exit non-zero naming the damage and leave the directory as it
//! was. A torn tail (the last append of a crash) still starts, with the same
//! topics and ids and no producer id handed out twice.

mod binary;
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use binary::{copy_tree, fingerprint, run_to_exit, Running};

/// Few internal partitions and small index files: the directory is copied
/// and fingerprinted for every case.
const SMALL: &[&str] = &[
    "offsets.topic.num.partitions=1",
    "transaction.state.log.num.partitions=1",
    "log.index.size.max.bytes=65536",
];

/// A data directory with topics and producer ids, written by the binary:
/// (tempdir, data dir, topics with ids, producer ids handed out).
fn used_data_dir() -> (
    tempfile::TempDir,
    PathBuf,
    Vec<(String, uuid::Uuid)>,
    Vec<i64>,
) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("pristine");
    let mut b = Running::start(&data, &tmp.path().join("setup.log"), SMALL);
    let mut c = b.client();
    assert_eq!(c.create_topic("orders", 2), 0);
    assert_eq!(c.create_topic("payments", 1), 0);
    let pids = vec![c.init_producer_id(), c.init_producer_id()];
    let topics = c.topics();
    assert!(topics.iter().any(|(n, _)| n == "orders"), "{topics:?}");
    drop(c);
    b.stop();
    (tmp, data, topics, pids)
}

/// Copies the pristine directory, applies `damage`, starts the binary and
/// checks it refuses naming `file` and `what`, changing nothing.
fn refused(
    tmp: &Path,
    pristine: &Path,
    case: &str,
    damage: impl FnOnce(&Path),
    file: &str,
    what: &str,
) {
    let data = tmp.join(case);
    copy_tree(pristine, &data);
    damage(&data.join("__cluster_metadata-0"));
    let before = fingerprint(&data);
    let (status, out) = run_to_exit(
        &data,
        &tmp.join(format!("{case}.log")),
        SMALL,
        Duration::from_secs(60),
    );
    assert!(!status.success(), "{case}: exit status {status}\n{out}");
    for needle in [
        "damaged metadata",
        file,
        what,
        "remove the whole data directory",
    ] {
        assert!(out.contains(needle), "{case}: no '{needle}' in:\n{out}");
    }
    assert_eq!(
        fingerprint(&data),
        before,
        "{case}: the data directory changed"
    );
}

#[test]
fn damaged_metadata_refuses_to_start_and_changes_nothing() {
    let (tmp, pristine, _, _) = used_data_dir();
    let tmp = tmp.path();
    refused(
        tmp,
        &pristine,
        "flipped-block",
        |m| {
            // Flip a block inside the payload of the middle frame.
            let path = m.join("raft.log");
            let mut bytes = std::fs::read(&path).expect("read");
            let mut starts = vec![];
            let mut pos = 0usize;
            while pos + 8 <= bytes.len() {
                starts.push(pos);
                let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes"));
                pos += 8 + len as usize;
            }
            assert_eq!(pos, bytes.len(), "raft.log is whole before the damage");
            assert!(starts.len() >= 3, "{} frames", starts.len());
            let mid = starts[starts.len() / 2] + 8;
            for b in &mut bytes[mid..mid + 4] {
                *b ^= 0xa5;
            }
            std::fs::write(&path, bytes).expect("write");
        },
        "raft.log",
        "damaged at byte",
    );
    refused(
        tmp,
        &pristine,
        "emptied",
        |m| std::fs::write(m.join("raft.log"), b"").expect("empty"),
        "raft.log",
        "is empty",
    );
    refused(
        tmp,
        &pristine,
        "log-deleted",
        |m| std::fs::remove_file(m.join("raft.log")).expect("delete"),
        "raft.log",
        "is missing",
    );
    refused(
        tmp,
        &pristine,
        "dir-deleted",
        |m| std::fs::remove_dir_all(m).expect("delete"),
        "__cluster_metadata-0",
        "metadata directory is missing",
    );
    refused(
        tmp,
        &pristine,
        "snapshot-corrupt",
        |m| std::fs::write(m.join("snapshot.json"), b"{\"meta\":{\"last_log_id\":").expect("write"),
        "snapshot.json",
        "does not parse",
    );
}

#[test]
fn torn_tail_still_starts_with_the_same_topics_and_producer_ids_move_on() {
    let (tmp, data, topics, pids) = used_data_dir();
    let path = data.join("__cluster_metadata-0").join("raft.log");
    let mut bytes = std::fs::read(&path).expect("read");
    let len = bytes.len();
    // The header of a 500-byte frame and the start of its JSON payload.
    bytes.extend_from_slice(&500u32.to_be_bytes());
    bytes.extend_from_slice(&[1, 2, 3, 4]);
    bytes.extend_from_slice(b"{\"Entries\":[{\"log_id\"");
    std::fs::write(&path, &bytes).expect("tear");
    let log = tmp.path().join("torn.log");
    let mut b = Running::start(&data, &log, SMALL);
    let mut c = b.client();
    assert_eq!(c.topics(), topics, "topics or topic ids changed");
    let next = c.init_producer_id();
    assert!(
        pids.iter().all(|p| next > *p),
        "producer id {next} handed out again (before: {pids:?})"
    );
    drop(c);
    b.stop();
    let out = binary::read_log(&log);
    assert!(out.contains("truncating torn tail"), "{out}");
    assert!(
        std::fs::metadata(&path).expect("raft.log").len() >= len as u64,
        "the intact prefix was cut"
    );
}
