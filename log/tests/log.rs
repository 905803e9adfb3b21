//! Append, read, roll and recovery of a whole partition log.

mod common;

use std::fs::OpenOptions;
use std::path::Path;

use common::batch;
use memorystreamer_log::batch::{BatchHeader, Batches, HEADER_LEN};
use memorystreamer_log::{Log, LogConfig, LogError};
use proptest::prelude::*;

fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 4096,
        index_interval_bytes: 256,
        index_max_bytes: 4096,
        ..LogConfig::default()
    }
}

/// Reads every batch from `from` to the end, following slices.
fn read_all(log: &Log, mut from: i64) -> Vec<(BatchHeader, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(slice) = log.read(from).expect("read") {
        let bytes = slice.read_batches(1 << 20, true).expect("read batches");
        assert!(!bytes.is_empty(), "read at {from} returned nothing");
        for item in Batches::new(&bytes) {
            let (h, r) = item.expect("batch");
            from = h.last_offset() + 1;
            out.push((h, bytes[r].to_vec()));
        }
    }
    out
}

fn append(log: &mut Log, b: &[u8]) -> i64 {
    let mut buf = b.to_vec();
    log.append(&mut buf, 0).expect("append").base_offset
}

#[test]
fn append_read_roll_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t-0");
    let mut expected = Vec::new();
    {
        let mut log = Log::open(&path, small_config()).expect("open");
        for i in 0..200 {
            let b = batch(
                1 + i % 4,
                format!("payload-{i}").as_bytes(),
                1000 + i64::from(i),
                -1,
                -1,
            );
            let base = append(&mut log, &b);
            expected.push((base, b));
        }
        assert!(log.segment_count() > 3, "segments should roll at 4 KiB");
    }
    let log = Log::open(&path, small_config()).expect("reopen");
    let got = read_all(&log, 0);
    assert_eq!(got.len(), expected.len());
    for ((h, bytes), (base, original)) in got.iter().zip(&expected) {
        assert_eq!(h.base_offset, *base);
        // Bytes equal the producer's except the base offset field.
        assert_eq!(&bytes[8..], &original[8..]);
    }
    // A mid-batch offset returns the batch that contains it.
    let (h, _) = &got[10];
    if h.last_offset_delta > 0 {
        let slice = log.read(h.base_offset + 1).expect("read").expect("data");
        let bytes = slice.read_batches(1 << 20, true).expect("bytes");
        let first = BatchHeader::parse(&bytes).expect("header");
        assert_eq!(first.base_offset, h.base_offset);
    }
    let leo = log.log_end_offset();
    assert!(log.read(leo).expect("read at end").is_none());
    assert!(matches!(
        log.read(leo + 1),
        Err(LogError::OffsetOutOfRange { .. })
    ));
}

#[test]
fn kip74_returns_one_oversized_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), LogConfig::default()).expect("open");
    append(&mut log, &batch(10, &[7u8; 100], 1, -1, -1));
    let slice = log.read(0).expect("read").expect("data");
    assert!(slice.read_batches(50, false).expect("read").is_empty());
    let one = slice.read_batches(50, true).expect("read");
    assert_eq!(one.len(), HEADER_LEN + 1000);
}

fn last_segment_file(dir: &Path) -> std::path::PathBuf {
    let mut logs: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    logs.pop().expect("a segment")
}

#[test]
fn torn_tail_at_every_byte_keeps_exactly_the_complete_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("p");
    let last = batch(3, b"the-last-batch", 5, -1, -1);
    let complete_offsets;
    {
        let mut log = Log::open(&path, small_config()).expect("open");
        for i in 0..20 {
            append(&mut log, &batch(2, format!("r{i}").as_bytes(), 2, -1, -1));
        }
        complete_offsets = log.log_end_offset();
        append(&mut log, &last);
    }
    let seg = last_segment_file(&path);
    let full_len = std::fs::metadata(&seg).expect("meta").len();
    let start = full_len - last.len() as u64;
    for cut in start..full_len {
        let copy = dir.path().join(format!("copy-{cut}"));
        std::fs::create_dir_all(&copy).expect("mkdir");
        for e in std::fs::read_dir(&path).expect("dir") {
            let e = e.expect("entry");
            std::fs::copy(e.path(), copy.join(e.file_name())).expect("copy");
        }
        let f = OpenOptions::new()
            .write(true)
            .open(copy.join(seg.file_name().expect("name")))
            .expect("open seg");
        f.set_len(cut).expect("tear");
        drop(f);
        let mut log = Log::open(&copy, small_config()).expect("recover");
        assert_eq!(log.log_end_offset(), complete_offsets, "cut at {cut}");
        assert_eq!(read_all(&log, 0).len(), 20, "cut at {cut}");
        // The log keeps working after recovery.
        assert_eq!(append(&mut log, &last), complete_offsets);
        std::fs::remove_dir_all(&copy).expect("cleanup");
    }
}

#[test]
fn corrupt_byte_in_tail_truncates_from_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), LogConfig::default()).expect("open");
    for i in 0..5 {
        append(&mut log, &batch(1, format!("v{i}").as_bytes(), 1, -1, -1));
    }
    drop(log);
    let seg = last_segment_file(dir.path());
    let mut bytes = std::fs::read(&seg).expect("read");
    let b = batch(1, b"v0", 1, -1, -1).len();
    bytes[3 * b + HEADER_LEN] ^= 0x55; // corrupt the 4th batch's record
    std::fs::write(&seg, &bytes).expect("write");
    let log = Log::open(dir.path(), LogConfig::default()).expect("recover");
    assert_eq!(log.log_end_offset(), 3);
}

#[test]
fn producer_state_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut log = Log::open(dir.path(), LogConfig::default()).expect("open");
        append(&mut log, &batch(2, b"a", 1, 9, 0));
        append(&mut log, &batch(2, b"b", 1, 9, 2));
    }
    let mut log = Log::open(dir.path(), LogConfig::default()).expect("reopen");
    let mut dup = batch(2, b"b", 1, 9, 2);
    assert!(matches!(
        log.append(&mut dup, 0),
        Err(LogError::DuplicateSequence { base_offset: 2, .. })
    ));
    let mut gap = batch(1, b"c", 1, 9, 7);
    assert!(matches!(
        log.append(&mut gap, 0),
        Err(LogError::OutOfOrderSequence { .. })
    ));
    assert_eq!(log.log_end_offset(), 4, "rejected batches were not written");
}

#[test]
fn timestamp_lookups() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), small_config()).expect("open");
    for i in 0..100i64 {
        append(&mut log, &batch(1, b"0123456789", 1000 + i * 10, -1, -1));
    }
    let (h, _) = log
        .find_batch_by_timestamp(1055)
        .expect("lookup")
        .expect("found");
    assert_eq!(h.base_offset, 6);
    assert_eq!(h.max_timestamp, 1060);
    let (h, _) = log
        .find_batch_by_timestamp(0)
        .expect("lookup")
        .expect("found");
    assert_eq!(h.base_offset, 0);
    assert!(log.find_batch_by_timestamp(5000).expect("lookup").is_none());
    let (h, _) = log.max_timestamp_batch().expect("max").expect("found");
    assert_eq!(h.base_offset, 99);
    drop(log);
    // Same answers after reopening (time index read back from disk).
    let log = Log::open(dir.path(), small_config()).expect("reopen");
    let (h, _) = log
        .find_batch_by_timestamp(1055)
        .expect("lookup")
        .expect("found");
    assert_eq!(h.base_offset, 6);
    let (h, _) = log.max_timestamp_batch().expect("max").expect("found");
    assert_eq!(h.base_offset, 99);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Whatever the batch sizes and however often the log is reopened, every
    /// appended batch reads back byte for byte at increasing offsets.
    #[test]
    fn appended_batches_read_back(
        sizes in proptest::collection::vec((1i32..6, 1usize..300), 1..60),
        reopen_every in 1usize..20,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = Log::open(dir.path(), small_config()).expect("open");
        let mut expected = Vec::new();
        for (i, (count, len)) in sizes.iter().enumerate() {
            let payload = vec![(i % 251) as u8; *len];
            let b = batch(*count, &payload, i as i64 + 1, -1, -1);
            let base = append(&mut log, &b);
            expected.push((base, b));
            if i % reopen_every == 0 {
                drop(log);
                log = Log::open(dir.path(), small_config()).expect("reopen");
            }
        }
        let got = read_all(&log, 0);
        prop_assert_eq!(got.len(), expected.len());
        let mut prev = -1;
        for ((h, bytes), (base, original)) in got.iter().zip(&expected) {
            prop_assert!(h.base_offset > prev);
            prev = h.last_offset();
            prop_assert_eq!(h.base_offset, *base);
            prop_assert_eq!(&bytes[8..], &original[8..]);
        }
    }
}

#[test]
fn producer_state_comes_from_snapshot_plus_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut log = Log::open(dir.path(), small_config()).expect("open");
        // Enough batches to roll several times; snapshots are written at rolls.
        for i in 0..200 {
            append(&mut log, &batch(1, &[b'x'; 60], 1, 5, i));
        }
        assert!(log.segment_count() > 2);
    }
    let files = |ext: &str| -> Vec<std::path::PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        v.sort();
        v
    };
    let snapshots = files("snapshot");
    assert_eq!(snapshots.len(), 2, "the two newest snapshots are kept");
    let newest: i64 = snapshots[1]
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.parse().ok())
        .expect("offset-named snapshot");
    assert!(newest > 5);
    // The checked batch must still be among the producer's last five.
    assert!(
        200 - newest < 5,
        "snapshot at {newest}: adjust the batch count"
    );

    // A damaged newest snapshot is skipped (older one or full replay).
    let good = std::fs::read(&snapshots[1]).expect("read");
    std::fs::write(&snapshots[1], b"garbage").expect("damage");
    let mut log = Log::open(dir.path(), small_config()).expect("reopen");
    let mut dup = batch(1, &[b'x'; 60], 1, 5, 199);
    assert!(matches!(
        log.append(&mut dup, 0),
        Err(LogError::DuplicateSequence {
            base_offset: 199,
            ..
        })
    ));
    drop(log);
    std::fs::write(&snapshots[1], good).expect("restore");

    // Remove every segment before the newest snapshot: producer state can
    // only come from the snapshot, and it remembers the batches in them.
    for seg in files("log") {
        let base: i64 = seg
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse().ok())
            .expect("offset-named segment");
        if base < newest && seg != files("log").last().cloned().expect("active") {
            std::fs::remove_file(&seg).expect("remove segment");
        }
    }
    let mut log = Log::open(dir.path(), small_config()).expect("reopen without old segments");
    let seq = (newest - 1) as i32; // the last batch before the snapshot point
    let mut dup = batch(1, &[b'x'; 60], 1, 5, seq);
    assert!(
        matches!(log.append(&mut dup, 0), Err(LogError::DuplicateSequence { base_offset, .. }) if base_offset == newest - 1),
        "state for batches in removed segments comes from the snapshot"
    );
    let mut next = batch(1, &[b'x'; 60], 1, 5, 200);
    assert_eq!(
        log.append(&mut next, 0).expect("in sequence").base_offset,
        200
    );
}

#[test]
fn retention_by_time_and_size_keeps_the_active_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), small_config()).expect("open");
    for i in 0..200i64 {
        append(&mut log, &batch(1, &[b'x'; 60], 1_000 + i, -1, -1));
    }
    let segments = log.segment_count();
    assert!(segments > 4);
    // Nothing is older than a huge retention.
    assert_eq!(
        log.take_expired(Some(1_000_000), None, 2_000)
            .segments
            .len(),
        0
    );
    // By size: keep at most ~2 segments' worth.
    let limit = 2 * 4096;
    let removed = log.take_expired(None, Some(limit), 0);
    assert!(!removed.segments.is_empty());
    assert!(log.size_bytes() < limit + 4096);
    let start = log.log_start_offset();
    assert!(start > 0);
    removed.delete_files().expect("delete");
    assert!(matches!(
        log.read(start - 1),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert!(log.read(start).expect("read").is_some());
    // By time: everything sealed is older than 10 ms before "now".
    log.take_expired(Some(10), None, 1_000_000)
        .delete_files()
        .expect("delete");
    assert_eq!(log.segment_count(), 1, "the active segment stays");
    drop(log);
    let log = Log::open(dir.path(), small_config()).expect("reopen");
    assert_eq!(log.log_end_offset(), 200);
}

#[test]
fn delete_records_moves_the_start_durably() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), small_config()).expect("open");
    for _ in 0..100 {
        append(&mut log, &batch(1, &[b'x'; 60], 1, -1, -1));
    }
    let (start, removed) = log.delete_records_before(70).expect("delete records");
    assert_eq!(start, 70);
    removed.delete_files().expect("files");
    assert!(matches!(
        log.read(69),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert!(matches!(
        log.delete_records_before(101),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    drop(log);
    let mut log = Log::open(dir.path(), small_config()).expect("reopen");
    assert_eq!(
        log.log_start_offset(),
        70,
        "start offset survives a restart"
    );
    let (start, removed) = log.delete_records_before(100).expect("delete all");
    removed.delete_files().expect("files");
    assert_eq!((start, log.log_end_offset()), (100, 100));
    assert!(log.read(100).expect("at end").is_none());
}

#[test]
fn flush_ms_makes_unflushed_logs_due() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut log = Log::open(dir.path(), small_config()).expect("open");
    append(&mut log, &batch(1, b"x", 1, -1, -1));
    assert!(!log.flush_due(), "no flush.ms: never due");
    log.set_config(LogConfig {
        flush_ms: Some(std::time::Duration::ZERO),
        ..small_config()
    });
    assert!(log.flush_due(), "unflushed records and flush.ms passed");
    log.flush().expect("flush");
    assert!(!log.flush_due(), "nothing unflushed after a flush");
    log.set_config(LogConfig {
        flush_ms: Some(std::time::Duration::from_secs(3600)),
        ..small_config()
    });
    append(&mut log, &batch(1, b"y", 2, -1, -1));
    assert!(!log.flush_due(), "flush.ms not yet passed");
}

#[test]
fn timestamp_lookup_starts_at_the_log_start_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), small_config()).expect("open");
    for i in 0..100i64 {
        append(&mut log, &batch(1, b"0123456789", 1000 + i * 10, -1, -1));
    }
    // Inside a segment (not at a segment boundary) and at offset 57.
    let (start, removed) = log.delete_records_before(57).expect("delete records");
    removed.delete_files().expect("delete files");
    assert_eq!(start, 57);
    let (h, _) = log
        .find_batch_by_timestamp(0)
        .expect("lookup")
        .expect("found");
    assert_eq!(h.base_offset, 57, "first batch at or after the log start");
    let (h, _) = log
        .find_batch_by_timestamp(1800)
        .expect("lookup")
        .expect("found");
    assert_eq!(h.base_offset, 80, "later timestamps unaffected");
}
