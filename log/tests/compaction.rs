//! Compaction: newest record per key kept, offsets never reordered,
//! tombstones expire, compressed batches rewritten, swaps survive crashes.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Mutex;

use memorystreamer_log::codec;
use memorystreamer_log::records::build::{batch, Rec};
use memorystreamer_log::records::{parse_records, records_section};
use memorystreamer_log::{compact, BatchHeader, CompactionConfig, Log, LogConfig};
use proptest::prelude::*;

/// One record read back: (offset, key, value, timestamp).
type Read = (i64, Option<Vec<u8>>, Option<Vec<u8>>, i64);

fn small_segments() -> LogConfig {
    LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 256,
        ..LogConfig::default()
    }
}

fn eager() -> CompactionConfig {
    CompactionConfig {
        min_cleanable_dirty_ratio: 0.0,
        ..CompactionConfig::default()
    }
}

fn rec(key: &str, value: Option<&str>, ts: i64) -> Rec {
    Rec {
        key: Some(key.as_bytes().to_vec()),
        value: value.map(|v| v.as_bytes().to_vec()),
        timestamp: ts,
    }
}

fn append(log: &mut Log, records: &[Rec], codec: i16) {
    let mut b = batch(records, codec, -1, -1);
    log.append(&mut b, 0).expect("append");
}

/// Every record in the log from its start, with the batch headers checked.
fn read_all(log: &Log) -> Vec<Read> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while let Some(slice) = log.read(offset).expect("read") {
        let bytes = slice.read_batches(1 << 20, true).expect("read batches");
        assert!(!bytes.is_empty(), "read at {offset} returned nothing");
        let mut next = offset;
        for item in memorystreamer_log::batch::Batches::new(&bytes) {
            let (h, range) = item.expect("batch");
            let whole = &bytes[range];
            BatchHeader::validate(whole).expect("valid CRC after compaction");
            let section = records_section(&h, whole, 1 << 24).expect("section");
            for r in parse_records(&h, &section).expect("records") {
                if r.offset(&h) >= offset {
                    out.push((
                        r.offset(&h),
                        r.key.map(<[u8]>::to_vec),
                        r.value.map(<[u8]>::to_vec),
                        r.timestamp(&h),
                    ));
                }
            }
            next = h.last_offset() + 1;
        }
        offset = next;
    }
    out
}

/// Newest record per key among `records` (by offset).
fn newest_per_key(records: &[Read]) -> BTreeMap<Vec<u8>, Read> {
    let mut m = BTreeMap::new();
    for r in records {
        if let Some(k) = &r.1 {
            m.insert(k.clone(), r.clone());
        }
    }
    m
}

fn run(
    log: Log,
    cfg: &CompactionConfig,
    now: i64,
) -> (Log, Option<memorystreamer_log::CleanStats>) {
    let m = Mutex::new(log);
    let stats = compact(&m, cfg, now).expect("compaction pass");
    (m.into_inner().expect("lock"), stats)
}

#[test]
fn ten_keys_thousand_updates_keep_latest_value_per_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut log = Log::open(dir.path(), small_segments()).expect("open");
    for round in 0..1000 {
        let batch: Vec<Rec> = (0..10)
            .map(|k| {
                rec(
                    &format!("key-{k}"),
                    Some(&format!("v{round}")),
                    1000 + round,
                )
            })
            .collect();
        // Mixed codecs: every rewritten batch must keep its own codec.
        append(&mut log, &batch, (round % 5) as i16);
    }
    // Seal everything so that it is all cleanable.
    append(&mut log, &[rec("sentinel", Some("end"), 5000)], codec::NONE);
    log.roll().expect("roll");
    let before = read_all(&log);
    let bytes_before = log.size_bytes();
    let (log, stats) = run(log, &eager(), 10_000);
    let stats = stats.expect("a pass ran");
    assert_eq!(stats.records_removed, 9990, "{stats:?}");
    let after = read_all(&log);
    assert_eq!(after.len(), 11, "{after:?}");
    assert_eq!(newest_per_key(&before).into_values().collect::<Vec<_>>(), {
        let mut a = after.clone();
        a.sort_by(|x, y| x.1.cmp(&y.1));
        a
    });
    for (k, r) in newest_per_key(&after) {
        if k != b"sentinel" {
            assert_eq!(r.2.as_deref(), Some(&b"v999"[..]));
        }
    }
    assert!(
        log.size_bytes() * 50 < bytes_before,
        "{} vs {bytes_before}",
        log.size_bytes()
    );
    assert_eq!(stats.bytes_in, bytes_before, "every sealed byte was read");
    assert_eq!(log.log_end_offset(), 10_001, "log end offset unchanged");
    // A second pass finds nothing dirty.
    let (log, stats) = run(log, &eager(), 10_000);
    assert!(stats.is_none());
    // Reopening reads the same.
    let dir_path = log.dir().to_path_buf();
    drop(log);
    let log = Log::open(&dir_path, small_segments()).expect("reopen");
    assert_eq!(read_all(&log), after);
}

#[test]
fn tombstones_removed_only_after_delete_retention() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut log = Log::open(dir.path(), small_segments()).expect("open");
    for i in 0..200 {
        append(
            &mut log,
            &[rec(&format!("k{}", i % 4), Some("x"), 1000 + i)],
            codec::NONE,
        );
    }
    append(&mut log, &[rec("k1", None, 2000)], codec::GZIP);
    append(&mut log, &[rec("k2", None, 2001)], codec::NONE);
    log.roll().expect("roll");
    let cfg = CompactionConfig {
        delete_retention_ms: 1000,
        ..eager()
    };
    // Within delete.retention.ms of the tombstones: they stay, the values go.
    let (log, _) = run(log, &cfg, 2500);
    let keys = newest_per_key(&read_all(&log));
    assert_eq!(keys.len(), 4);
    assert_eq!(keys[&b"k1".to_vec()].2, None);
    assert_eq!(keys[&b"k2".to_vec()].2, None);
    assert_eq!(read_all(&log).len(), 4);
    // Nothing dirty, but the kept tombstones expire: a pass runs and removes them.
    let (log, stats) = run(log, &cfg, 3100);
    assert_eq!(stats.expect("tombstone pass").tombstones_removed, 2);
    let after = read_all(&log);
    let keys: Vec<_> = after.iter().filter_map(|r| r.1.clone()).collect();
    assert_eq!(keys, vec![b"k0".to_vec(), b"k3".to_vec()]);
    let (_, stats) = run(log, &cfg, 3100);
    assert!(stats.is_none(), "no tombstones left to expire");
}

#[test]
fn active_segment_and_recent_segments_are_not_cleaned() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut log = Log::open(dir.path(), small_segments()).expect("open");
    for i in 0..300 {
        append(&mut log, &[rec("same", Some("v"), i)], codec::NONE);
    }
    let before = read_all(&log);
    // min.compaction.lag.ms covers every record: nothing is cleanable.
    let cfg = CompactionConfig {
        min_compaction_lag_ms: 1000,
        ..eager()
    };
    let (log, stats) = run(log, &cfg, 500);
    assert!(stats.is_none());
    assert_eq!(read_all(&log), before);
    // Without the lag, sealed segments shrink to one record; the active
    // segment keeps every record.
    let active_base = log.active_segment_base();
    assert!(active_base > 0, "several segments");
    let (log, stats) = run(log, &eager(), 500);
    assert!(stats.is_some());
    let after = read_all(&log);
    let tail = |v: &[Read]| {
        v.iter()
            .filter(|r| r.0 >= active_base)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(!tail(&before).is_empty());
    assert_eq!(tail(&after), tail(&before), "active segment untouched");
    assert_eq!(
        after.len(),
        tail(&before).len() + 1,
        "one record left below the active segment"
    );
    // Dirty-ratio threshold: a log with little dirty data is left alone.
    let strict = CompactionConfig {
        min_cleanable_dirty_ratio: 0.99,
        ..CompactionConfig::default()
    };
    let (_, stats) = run(log, &strict, 500);
    assert!(stats.is_none());
}

#[test]
fn uncommitted_cleaning_is_discarded_on_open() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut log = Log::open(dir.path(), small_segments()).expect("open");
    for i in 0..100 {
        append(&mut log, &[rec("k", Some("v"), i)], codec::NONE);
    }
    log.roll().expect("roll");
    let before = read_all(&log);
    drop(log);
    let cleaning = dir.path().join("cleaning");
    fs::create_dir(&cleaning).expect("mkdir");
    fs::write(cleaning.join("00000000000000000000.log"), b"half written").expect("write");
    let log = Log::open(dir.path(), small_segments()).expect("reopen");
    assert!(!cleaning.exists());
    assert_eq!(read_all(&log), before);
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        if e.file_type().expect("type").is_file() {
            fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
}

/// A crash after the swap was committed (at every step of moving files in)
/// is finished on open, giving exactly the compacted log.
#[test]
fn committed_swap_is_finished_on_open() {
    let original = tempfile::tempdir().expect("tmp");
    let mut log = Log::open(
        original.path(),
        LogConfig {
            segment_bytes: 4096,
            ..small_segments()
        },
    )
    .expect("open");
    for i in 0..400 {
        append(
            &mut log,
            &[rec(&format!("k{}", i % 7), Some("value"), i)],
            codec::NONE,
        );
    }
    log.roll().expect("roll");
    drop(log);
    // The expected result: the same log compacted normally, as one group.
    let compacted = tempfile::tempdir().expect("tmp");
    copy_dir(original.path(), compacted.path());
    let big = LogConfig {
        segment_bytes: 1 << 30,
        ..small_segments()
    };
    let log = Log::open(compacted.path(), big.clone()).expect("open copy");
    let (log, stats) = run(log, &eager(), 10_000);
    assert_eq!(stats.expect("pass").segments_out, 1);
    let expected = read_all(&log);
    drop(log);
    let mut old_bases: Vec<String> = fs::read_dir(original.path())
        .expect("ls")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".log").map(str::to_string))
        .collect();
    old_bases.sort();
    let active = old_bases.pop().expect("active segment");
    let group_base = old_bases[0].clone();
    let new_files = ["log", "index", "timeindex"].map(|ext| format!("{group_base}.{ext}"));
    for moved_already in 0..=new_files.len() {
        let crashed = tempfile::tempdir().expect("tmp");
        copy_dir(original.path(), crashed.path());
        let swap = crashed.path().join("cleaning-swap");
        fs::create_dir(&swap).expect("mkdir swap");
        let list: Vec<String> = old_bases
            .iter()
            .map(|b| b.parse::<i64>().expect("base").to_string())
            .collect();
        fs::write(swap.join("replaces"), list.join(" ")).expect("replaces");
        for (i, name) in new_files.iter().enumerate() {
            let to = if i < moved_already {
                crashed.path().join(name)
            } else {
                swap.join(name)
            };
            fs::copy(compacted.path().join(name), to).expect("copy new file");
        }
        if moved_already > 0 {
            // The crash came after the replaced segments were retired.
            for b in old_bases.iter().skip(1) {
                for ext in ["log", "index", "timeindex"] {
                    let _ = fs::remove_file(crashed.path().join(format!("{b}.{ext}")));
                }
            }
        }
        let log = Log::open(crashed.path(), big.clone()).expect("reopen crashed");
        assert_eq!(read_all(&log), expected, "moved_already={moved_already}");
        assert!(!swap.exists());
        assert!(crashed.path().join(format!("{active}.log")).exists());
        let leftovers: Vec<_> = fs::read_dir(crashed.path())
            .expect("ls")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".deleted"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[test]
fn reads_during_compaction_see_a_consistent_log() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut log = Log::open(dir.path(), small_segments()).expect("open");
    for i in 0..500 {
        append(
            &mut log,
            &[rec(&format!("k{}", i % 3), Some("v"), i)],
            codec::NONE,
        );
    }
    log.roll().expect("roll");
    let m = Mutex::new(log);
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            // Every read while the cleaner runs returns valid batches in
            // offset order, ending at the newest record of each key.
            for _ in 0..50 {
                let records = read_all(&m.lock().expect("lock"));
                assert!(records.windows(2).all(|w| w[0].0 < w[1].0));
                assert_eq!(newest_per_key(&records).len(), 3);
            }
        });
        compact(&m, &eager(), 10_000).expect("pass");
        reader.join().expect("reader");
    });
    assert_eq!(read_all(&m.lock().expect("lock")).len(), 3);
}

#[derive(Debug, Clone)]
enum Op {
    /// A batch of (key index, tombstone?) records with a codec.
    Batch(Vec<(u8, bool)>, i16),
    Roll,
    Compact,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (prop::collection::vec((0u8..12, prop::bool::weighted(0.15)), 1..6), 0i16..5)
            .prop_map(|(recs, c)| Op::Batch(recs, c)),
        1 => Just(Op::Roll),
        1 => Just(Op::Compact),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Compaction never loses the newest record of any key, never keeps a
    /// superseded one from the cleaned range, never changes a kept record,
    /// and never reorders offsets.
    #[test]
    fn compaction_keeps_newest_per_key_and_offset_order(ops in prop::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().expect("tmp");
        let mut log = Log::open(dir.path(), LogConfig { segment_bytes: 600, ..small_segments() }).expect("open");
        let mut written: Vec<Read> = Vec::new();
        let mut ts = 0i64;
        for op in ops {
            match op {
                Op::Batch(recs, c) => {
                    let batch: Vec<Rec> = recs.iter().map(|(k, tomb)| {
                        ts += 1;
                        let value = format!("value-{ts}");
                        rec(&format!("key-{k}"), if *tomb { None } else { Some(value.as_str()) }, ts)
                    }).collect();
                    let base = log.log_end_offset();
                    append(&mut log, &batch, c);
                    for (i, r) in batch.into_iter().enumerate() {
                        written.push((base + i as i64, r.key, r.value, r.timestamp));
                    }
                }
                Op::Roll => log.roll().expect("roll"),
                Op::Compact => {
                    let (l, stats) = run(log, &eager(), ts);
                    log = l;
                    if let Some(st) = stats {
                        // The cleaned range holds at most one record per key.
                        let cleaned: Vec<Read> = read_all(&log).into_iter().filter(|r| r.0 < st.clean_offset).collect();
                        prop_assert_eq!(newest_per_key(&cleaned).len(), cleaned.len());
                    }
                }
            }
            let now = read_all(&log);
            // Offsets strictly increase.
            prop_assert!(now.windows(2).all(|w| w[0].0 < w[1].0));
            // Every kept record is exactly a written one.
            for r in &now {
                prop_assert!(written.binary_search_by_key(&r.0, |w| w.0).is_ok_and(|i| written[i] == *r));
            }
            // The newest record of every key is still there.
            let newest = newest_per_key(&written);
            let have = newest_per_key(&now);
            prop_assert_eq!(&newest, &have);
            // The log end offset never moves back.
            prop_assert_eq!(log.log_end_offset(), written.len() as i64);
        }
    }
}
