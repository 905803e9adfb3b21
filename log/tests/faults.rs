//! The log under storage faults: a full file system (a small tmpfs, which
//! needs root to mount) and batches damaged on disk.

mod common;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::plain as batch;
use memorystreamer_log::batch::Batches;
use memorystreamer_log::error::is_no_space;
use memorystreamer_log::index::OffsetIndex;
use memorystreamer_log::{Log, LogConfig, LogError};

fn append(log: &mut Log, b: &[u8]) -> Result<i64, LogError> {
    let mut buf = b.to_vec();
    log.append(&mut buf, 0).map(|i| i.base_offset)
}

/// Base offsets of the batches a read from `from` returns.
fn read_bases(log: &Log, from: i64, max_bytes: usize) -> Result<Vec<i64>, LogError> {
    let Some(slice) = log.read(from)? else {
        return Ok(Vec::new());
    };
    let bytes = slice.read_batches(max_bytes, true)?;
    Ok(Batches::new(&bytes)
        .map(|b| b.expect("whole batches").0.base_offset)
        .collect())
}

/// A tmpfs of `size` mounted on a temporary directory, unmounted on drop.
/// Needs root (CI runs as root): fails, never skips, without it.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (a `mount -o size=` value, e.g. `2m`).
    pub fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test needs root to mount a small tmpfs (a full disk on demand); \
             run it as root (CI does): mount said {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { dir }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system with `filler` until a write fails for lack of
    /// space; returns the filler's path.
    pub fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("filler");
        let chunk = vec![0x5a; 4096];
        loop {
            match f.write_all(&chunk) {
                Ok(()) => {}
                Err(e) if is_no_space(&e) => break,
                Err(e) => panic!("filling the tmpfs: {e}"),
            }
        }
        // Byte-sized leftovers of the last page.
        while f.write_all(&[0x5a]).is_ok() {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Still busy (a process holds a file): detach it lazily.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 64 * 1024,
        index_interval_bytes: 256,
        index_max_bytes: 1 << 20,
        ..LogConfig::default()
    }
}

#[test]
fn full_tmpfs_gives_errors_not_sigbus_and_logs_open() {
    let fs = Tmpfs::mount("2m");
    let old = fs.path().join("old-0");
    let mut written = Vec::new();
    {
        let mut log = Log::open(&old, config()).expect("open");
        for i in 0..40 {
            let b = batch(
                2,
                format!("record-{i:04}-{}", "x".repeat(60)).as_bytes(),
                1_000 + i,
            );
            written.push(append(&mut log, &b).expect("append with space"));
        }
    }
    // An index as older versions left it: preallocated sparse to 1 MiB,
    // a few entries at the front (a hole behind them).
    let sparse = fs.path().join("sparse.index");
    {
        let f = File::create(&sparse).expect("create");
        f.set_len(1 << 20).expect("sparse preallocation");
        for (i, (rel, pos)) in [(3u32, 300u32), (7, 700), (11, 1100)].iter().enumerate() {
            let mut e = [0u8; 8];
            e[..4].copy_from_slice(&rel.to_be_bytes());
            e[4..].copy_from_slice(&pos.to_be_bytes());
            f.write_all_at(&e, (i * 8) as u64).expect("entry");
        }
    }

    let filler = fs.fill();

    // Opening on the full disk touches no hole: no SIGBUS, entries counted.
    let idx = OffsetIndex::open(&sparse, 1 << 20).expect("open sparse index on a full disk");
    assert_eq!(idx.0.len(), 3);
    assert_eq!(idx.lookup(8), (7, 700));
    drop(idx);

    // The existing log opens and serves reads; appends fail with ENOSPC.
    let mut log = Log::open(&old, config()).expect("reopen on a full disk");
    assert_eq!(read_bases(&log, 0, 1 << 20).expect("read"), written);
    let mut refused = 0;
    for i in 0..50 {
        let b = batch(4, "y".repeat(200).as_bytes(), 5_000 + i);
        match append(&mut log, &b) {
            // The last page of the segment file may still have room.
            Ok(base) => written.push(base),
            Err(LogError::Io(e)) if is_no_space(&e) => refused += 1,
            Err(e) => panic!("unexpected append error on a full disk: {e}"),
        }
    }
    assert!(refused > 0, "a full tmpfs must refuse appends");
    assert_eq!(read_bases(&log, 0, 1 << 20).expect("read"), written);

    // A new log (a topic created now) opens too; its appends are refused.
    let mut new = Log::open(&fs.path().join("new-0"), config()).expect("new log on a full disk");
    let b = batch(1, "z".repeat(3000).as_bytes(), 9_000);
    assert!(matches!(append(&mut new, &b), Err(LogError::Io(e)) if is_no_space(&e)));
    assert_eq!(new.log_end_offset(), 0);

    // Space returns: appends work again, index entries included.
    fs::remove_file(&filler).expect("free space");
    let end = log.log_end_offset();
    for i in 0..20 {
        let b = batch(1, "w".repeat(300).as_bytes(), 10_000 + i);
        append(&mut log, &b).expect("append after space returned");
    }
    assert_eq!(log.log_end_offset(), end + 20);
    append(&mut new, &b).expect("new log appends after space returned");
    drop(log);
    let log = Log::open(&old, config()).expect("reopen");
    assert_eq!(log.log_end_offset(), end + 20);
    assert_eq!(
        read_bases(&log, 0, 1 << 20).expect("read")[..written.len()],
        written[..]
    );
}

#[test]
fn corrupt_batch_in_sealed_segment_serves_the_batches_before_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t-0");
    let cfg = LogConfig {
        segment_bytes: 1 << 20,
        index_interval_bytes: 1 << 30,
        ..LogConfig::default()
    };
    let mut bases = Vec::new();
    let mut positions = Vec::new();
    {
        let mut log = Log::open(&path, cfg.clone()).expect("open");
        let mut pos = 0u64;
        for i in 0..30 {
            let b = batch(3, format!("value-{i:03}").as_bytes(), 1_000 + i);
            positions.push(pos);
            pos += b.len() as u64;
            bases.push(append(&mut log, &b).expect("append"));
        }
        log.roll().expect("roll");
        append(&mut log, &batch(1, b"after", 5_000)).expect("append to the new segment");
    }
    // Damage batch 20's magic byte in the sealed segment.
    let seg = path.join(format!("{:020}.log", 0));
    let f = OpenOptions::new()
        .write(true)
        .open(&seg)
        .expect("open segment");
    f.write_all_at(&[0x7f], positions[20] + 16).expect("flip");
    drop(f);

    let log = Log::open(&path, cfg).expect("reopen with a corrupt sealed segment");
    // Everything before the damaged batch, with a big fetch size.
    assert_eq!(
        read_bases(&log, 0, 1 << 20).expect("read from 0"),
        bases[..20]
    );
    assert_eq!(
        read_bases(&log, bases[5], 1 << 20).expect("read"),
        bases[5..20]
    );
    // At (or inside) the damaged batch: an error, not a panic.
    for at in [bases[20], bases[20] + 1, bases[25]] {
        match read_bases(&log, at, 1 << 20) {
            Err(LogError::CorruptBatch { position, .. }) => assert_eq!(position, positions[20]),
            other => panic!("read at {at}: expected CorruptBatch, got {other:?}"),
        }
    }
    // The next segment is untouched.
    assert_eq!(read_bases(&log, 90, 1 << 20).expect("read"), vec![90]);
}
