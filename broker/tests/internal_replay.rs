//! Replay of internal topics never prevents start-up (issue 12, hardening):
//! undecodable batches and records in `__consumer_offsets` (garbage
//! records under a valid CRC, a record count that lies, a value of an
//! unknown schema version, a truncated key) are logged with topic,
//! partition and offset and skipped; every other group's offsets survive,
//! including a commit stored after the garbage. The same holds for
//! `__transaction_state`: a transactional id's state survives garbage
//! stored after it.
//!
//! Kafka refuses client produce requests to internal topics, so the
//! garbage is appended to the partition's active segment with the broker
//! stopped.

mod binary;
mod common;

use std::io::Write;
use std::path::Path;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use memorystreamer_broker::group::records::{OffsetValue, OffsetsKey};
use memorystreamer_log::batch::Batches;

use binary::Running;

const SMALL: &[&str] = &[
    "offsets.topic.num.partitions=1",
    "transaction.state.log.num.partitions=1",
    "log.index.size.max.bytes=65536",
];

/// One uncompressed batch at `base_offset` of key/value records.
fn batch(base_offset: i64, kvs: &[(Bytes, Bytes)]) -> Vec<u8> {
    let records: Vec<Record> = kvs
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: base_offset + i as i64,
            sequence: i as i32 - 1,
            timestamp: 1_700_000_000_000,
            key: Some(k.clone()),
            value: Some(v.clone()),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode");
    buf.to_vec()
}

/// Recomputes the CRC32C of a batch after its CRC-covered bytes changed.
fn fix_crc(b: &mut [u8]) {
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

fn commit_kv(group: &str, offset: i64) -> (Bytes, Bytes) {
    let key = OffsetsKey::Offset {
        group: group.into(),
        topic: "oc".into(),
        partition: 0,
    }
    .encode();
    let value = OffsetValue {
        offset,
        leader_epoch: -1,
        metadata: String::new(),
        commit_timestamp: 1_700_000_000_000,
    }
    .encode();
    (key, value)
}

/// The active segment of `data/<partition>` and its log end offset.
fn active_segment(data: &Path, partition: &str) -> (std::path::PathBuf, i64) {
    let dir = data.join(partition);
    let mut logs: Vec<_> = std::fs::read_dir(&dir)
        .expect("offsets partition")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    let active = logs.pop().expect("a segment");
    let bytes = std::fs::read(&active).expect("segment");
    let mut leo = -1;
    for item in Batches::new(&bytes) {
        let (h, _) = item.expect("intact segment");
        leo = h.last_offset() + 1;
    }
    assert!(leo > 0, "records were stored in {partition}");
    (active, leo)
}

/// Appends `batches` to the segment `path`.
fn append(path: &Path, batches: &[&[u8]]) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open segment");
    for b in batches {
        f.write_all(b).expect("append");
    }
    f.sync_all().expect("sync");
}

/// Garbage records under a valid CRC, at `offset`.
fn garbage_batch(offset: i64) -> Vec<u8> {
    let mut garbage = batch(offset, &[commit_kv("garbage", 1)]);
    let end = garbage.len();
    garbage[61..end].fill(0xff);
    fix_crc(&mut garbage);
    garbage
}

/// Appends garbage after the last batch of `__consumer_offsets-0`; returns
/// the offset of the first garbage batch.
fn append_garbage(data: &Path) -> i64 {
    let (active, leo) = active_segment(data, "__consumer_offsets-0");
    // Garbage records under a valid CRC.
    let garbage = garbage_batch(leo);
    // A record count that lies: 3 declared, 1 held.
    let mut liar = batch(leo + 1, &[commit_kv("liar", 2)]);
    liar[23..27].copy_from_slice(&2i32.to_be_bytes());
    liar[57..61].copy_from_slice(&3i32.to_be_bytes());
    fix_crc(&mut liar);
    // A valid batch: a value of unknown version, then a truncated key.
    let bad_value = OffsetsKey::Offset {
        group: "bad".into(),
        topic: "oc".into(),
        partition: 0,
    }
    .encode();
    let records = batch(
        leo + 4,
        &[
            (bad_value, Bytes::from_static(b"\x00\x63garbage")),
            (Bytes::from_static(b"\x00"), Bytes::from_static(b"x")),
        ],
    );
    // A commit after all of it.
    let late = batch(leo + 6, &[commit_kv("late", 99)]);
    append(&active, &[&garbage, &liar, &records, &late]);
    leo
}

/// Whether some line of `out` is a warning naming `what`, `topic`,
/// partition 0 and exactly `offset`.
fn names(out: &str, what: &str, topic: &str, offset: i64) -> bool {
    out.lines().any(|l| {
        l.contains(what)
            && l.contains(topic)
            && l.contains("partition=0")
            && l.split(|c: char| c.is_whitespace() || c == '}' || c == ',')
                .any(|t| t == format!("offset={offset}"))
    })
}

#[test]
fn undecodable_consumer_offsets_records_are_logged_and_skipped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    {
        let mut b = Running::start(&data, &tmp.path().join("first.log"), SMALL);
        let mut c = b.client();
        assert_eq!(c.create_topic("oc", 2), 0);
        assert_eq!(c.commit("good", "oc", 0, 42), 0);
        assert_eq!(c.commit("good", "oc", 1, 43), 0);
        assert_eq!(c.commit("other", "oc", 0, 7), 0);
        drop(c);
        b.stop();
    }
    let at = append_garbage(&data);
    let log = tmp.path().join("second.log");
    let mut b = Running::start(&data, &log, SMALL);
    let mut c = b.client();
    let oc = |p: i32, o: i64| ("oc".to_string(), p, o);
    assert_eq!(c.committed("good"), vec![oc(0, 42), oc(1, 43)]);
    assert_eq!(c.committed("other"), vec![oc(0, 7)]);
    assert_eq!(c.committed("late"), vec![oc(0, 99)]);
    for skipped in ["garbage", "liar", "bad"] {
        assert!(c.committed(skipped).is_empty(), "{skipped} was applied");
    }
    drop(c);
    b.stop();
    let out = binary::read_log(&log);
    let named = |what: &str, offset: i64| names(&out, what, "__consumer_offsets", offset);
    assert!(named("undecodable batch", at), "garbage batch:\n{out}");
    assert!(named("undecodable batch", at + 1), "lying batch:\n{out}");
    assert!(
        named("undecodable offset value", at + 4),
        "bad value:\n{out}"
    );
    assert!(
        named("undecodable __consumer_offsets key", at + 5),
        "bad key:\n{out}"
    );
}

#[test]
fn undecodable_transaction_state_records_are_logged_and_skipped() {
    use memorystreamer_broker::txn::records::encode_key;
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let (pid, epoch) = {
        let mut b = Running::start(&data, &tmp.path().join("first.log"), SMALL);
        let ids = b.client().init_transactional("tx-kept");
        b.stop();
        ids
    };
    let (active, at) = active_segment(&data, "__transaction_state-0");
    let bad_value = batch(
        at + 1,
        &[(encode_key("tx-bad"), Bytes::from_static(b"\x00\x07junk"))],
    );
    append(&active, &[&garbage_batch(at), &bad_value]);
    let log = tmp.path().join("second.log");
    let mut b = Running::start(&data, &log, SMALL);
    // The kept id's state was replayed: same producer id, next epoch.
    assert_eq!(b.client().init_transactional("tx-kept"), (pid, epoch + 1));
    b.stop();
    let out = binary::read_log(&log);
    let named = |what: &str, offset: i64| names(&out, what, "__transaction_state", offset);
    assert!(named("undecodable batch", at), "garbage batch:\n{out}");
    assert!(
        named("undecodable __transaction_state value", at + 1),
        "bad value:\n{out}"
    );
}
