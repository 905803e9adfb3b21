//! Storage faults over the wire (issue 12, items 11, 13 and 15): a full disk
//! (a small tmpfs, mounted by the test: needs root, as CI runs), a batch
//! damaged on disk in a sealed segment, and deleting topics whose names are
//! as long as Kafka allows. The full-disk test runs the `memorystreamer`
//! binary in a process of its own (it is killed and restarted on the full
//! disk, and a SIGBUS there must not take the test down with it).

mod common;

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{batch, create_topic, fetch_req, free_port, produce, topic_name, Client, TestBroker};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;

const KAFKA_STORAGE_ERROR: i16 = 56;
const CORRUPT_MESSAGE: i16 = 2;

/// (base offset, last offset) of each whole batch in fetched `records`.
fn batch_offsets(records: &[u8]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while records.len() >= at + 61 {
        let r = &records[at..];
        let base = i64::from_be_bytes(r[0..8].try_into().expect("8 bytes"));
        let len = i32::from_be_bytes(r[8..12].try_into().expect("4 bytes")) as usize;
        let delta = i32::from_be_bytes(r[23..27].try_into().expect("4 bytes"));
        if records.len() < at + 12 + len {
            break;
        }
        out.push((base, base + i64::from(delta)));
        at += 12 + len;
    }
    out
}

/// Fetches partition 0 of `topic` from `offset`: (error code, batches).
fn fetch(c: &mut Client, topic: &str, offset: i64, max_bytes: i32) -> (i16, Vec<(i64, i64)>) {
    let resp: FetchResponse = c.call(
        ApiKey::Fetch,
        12,
        &fetch_req(topic, offset, 0, 1, max_bytes),
    );
    let p = &resp.responses[0].partitions[0];
    let records = p.records.clone().unwrap_or_default();
    (p.error_code, batch_offsets(&records))
}

/// Every offset in `batches`, in order.
fn offsets(batches: &[(i64, i64)]) -> Vec<i64> {
    batches.iter().flat_map(|(b, l)| *b..=*l).collect()
}

fn create_topic_with(c: &mut Client, name: &str, configs: &[(&str, &str)]) -> i16 {
    let req = CreateTopicsRequest::default().with_topics(vec![
        create_topics_request::CreatableTopic::default()
            .with_name(topic_name(name))
            .with_num_partitions(1)
            .with_replication_factor(1)
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        create_topics_request::CreatableTopicConfig::default()
                            .with_name(StrBytes::from_string(k.to_string()))
                            .with_value(Some(StrBytes::from_string(v.to_string())))
                    })
                    .collect(),
            ),
    ]);
    let resp: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &req);
    resp.topics[0].error_code
}

fn delete_topic(c: &mut Client, name: &str) -> i16 {
    let req = DeleteTopicsRequest::default()
        .with_topic_names(vec![topic_name(name)])
        .with_timeout_ms(10_000);
    let resp: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, 5, &req);
    resp.responses[0].error_code
}

fn values(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:04}")).collect()
}

fn produce_values(c: &mut Client, topic: &str, vals: &[String]) -> (i16, i64) {
    let refs: Vec<&str> = vals.iter().map(String::as_str).collect();
    let r = produce(c, topic, batch(&refs, -1, 0, Compression::None));
    (r.error_code, r.base_offset)
}

/// Polls `cond` until it holds or `limit` passes.
fn wait_for(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------
// Item 11: a full disk.

/// A tmpfs of a given size mounted on a temporary directory, unmounted (and
/// the directory removed) on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
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

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `filler` until the file system is full; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("filler");
        let chunk = vec![0x5a; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        while f.write_all(&[0x5a; 512]).is_ok() {}
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

/// The broker binary on a free port with its data directory at `data` and
/// its output appended to `log`; killed when dropped.
struct BrokerProcess {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl BrokerProcess {
    fn start(data: &Path, log: &Path) -> BrokerProcess {
        let port = free_port();
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_memorystreamer"))
            .arg("--data-dir")
            .arg(data)
            .arg("--listeners")
            .arg(format!("PLAINTEXT://127.0.0.1:{port}"))
            .arg("--metrics-addr")
            .arg(format!("127.0.0.1:{}", free_port()))
            .args(["-o", "offsets.topic.num.partitions=1"])
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info,openraft=warn")
            .stdout(Stdio::from(out.try_clone().expect("clone")))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("start the broker binary");
        let mut b = BrokerProcess {
            child,
            port,
            log: log.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = b.child.try_wait() {
                panic!("broker exited during start-up ({status}):\n{}", b.output());
            }
            assert!(
                Instant::now() < deadline,
                "broker did not listen within 60 s:\n{}",
                b.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        b
    }

    fn output(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    fn assert_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("broker died ({status}):\n{}", self.output());
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn full_disk_refuses_writes_keeps_serving_reads_and_restarts() {
    let fs = Tmpfs::mount("24m");
    let data = fs.path().join("data");
    // The broker's output goes outside the full file system.
    let out = tempfile::tempdir().expect("tempdir");
    let log = out.path().join("broker.log");
    let mut b = BrokerProcess::start(&data, &log);
    let mut c = Client::connect_to(b.port);
    assert_eq!(create_topic_with(&mut c, "full", &[]), 0);
    let mut written = Vec::new();
    for i in 0..20 {
        let (code, base) = produce_values(&mut c, "full", &values(&format!("before-{i}"), 10));
        assert_eq!(code, 0);
        written.extend(base..base + 10);
    }

    let filler = fs.fill();
    // Produce until the disk refuses (the segment's last page may take a
    // little more first).
    let mut refused = false;
    for i in 0..200 {
        let (code, base) = produce_values(&mut c, "full", &values(&format!("full-{i}"), 50));
        match code {
            0 => written.extend(base..base + 50),
            KAFKA_STORAGE_ERROR => {
                refused = true;
                break;
            }
            other => panic!("unexpected produce error {other} on a full disk"),
        }
    }
    assert!(
        refused,
        "produce on a full disk must answer KAFKA_STORAGE_ERROR"
    );
    b.assert_alive();
    // A refused write is cut back, which frees the pages it took (top up),
    // and the last page of the segment may still take a small batch: send
    // one larger than a page.
    fs.fill();
    let (code, _) = produce_values(&mut c, "full", &values("again", 600));
    assert_eq!(
        code,
        KAFKA_STORAGE_ERROR,
        "still refused while the disk is full:\n{}",
        b.output()
    );
    let (code, batches) = fetch(&mut c, "full", 0, 16 << 20);
    assert_eq!(code, 0);
    assert_eq!(offsets(&batches), written, "reads serve what was written");
    // Topic creation is refused cleanly (no success for a topic that
    // cannot take a byte); the broker survives it.
    fs.fill();
    let code = create_topic_with(&mut c, "born-on-a-full-disk", &[]);
    b.assert_alive();
    assert_ne!(
        code,
        0,
        "creating a topic on a full disk must be refused:\n{}",
        b.output()
    );
    wait_for(Duration::from_secs(10), "the no-space log line", || {
        b.output().contains("no space left on device")
    });

    // Restart on the still-full disk: it starts and serves reads.
    b.kill();
    let mut b = BrokerProcess::start(&data, &log);
    let mut c = Client::connect_to(b.port);
    let (code, batches) = fetch(&mut c, "full", 0, 16 << 20);
    assert_eq!(code, 0);
    assert_eq!(
        offsets(&batches),
        written,
        "reads after a restart on a full disk"
    );
    fs.fill();
    let (code, _) = produce_values(&mut c, "full", &values("restarted", 600));
    assert_eq!(code, KAFKA_STORAGE_ERROR, "{}", b.output());
    b.assert_alive();

    // Space returns: produce works again.
    fs::remove_file(&filler).expect("free space");
    let (code, base) = produce_values(&mut c, "full", &values("after", 50));
    assert_eq!(code, 0, "produce once space is back");
    written.extend(base..base + 50);
    let (code, batches) = fetch(&mut c, "full", 0, 16 << 20);
    assert_eq!(code, 0);
    assert_eq!(offsets(&batches), written);
    b.assert_alive();
}

// ---------------------------------------------------------------------------
// Item 13: one damaged batch in a sealed segment.

#[test]
fn corrupt_batch_in_sealed_segment_hides_nothing_before_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut written = Vec::new();
    {
        let b = TestBroker::start_at(&data, &[]);
        let mut c = b.connect();
        assert_eq!(
            create_topic_with(
                &mut c,
                "damaged",
                // Records are stamped 1970: keep retention off them.
                &[("segment.bytes", "2000"), ("retention.ms", "-1")]
            ),
            0
        );
        for i in 0..40 {
            let (code, base) = produce_values(&mut c, "damaged", &values(&format!("v{i}"), 3));
            assert_eq!(code, 0);
            written.push((base, base + 2));
        }
    }
    // Damage the 6th batch of the first (sealed) segment while stopped.
    let seg = data.join("damaged-0").join(format!("{:020}.log", 0));
    let bytes = fs::read(&seg).expect("first segment");
    let in_first = batch_offsets(&bytes);
    assert!(
        in_first.len() > 8,
        "the first segment holds several batches"
    );
    assert!(
        data.join("damaged-0")
            .join(format!("{:020}.log", in_first.len() * 3))
            .exists(),
        "the first segment is sealed"
    );
    let mut pos = 0usize;
    for _ in 0..5 {
        pos += 12 + i32::from_be_bytes(bytes[pos + 8..pos + 12].try_into().expect("len")) as usize;
    }
    let f = OpenOptions::new().write(true).open(&seg).expect("open");
    f.write_all_at(&[0xee, 0xee], (pos + 15) as u64)
        .expect("flip bytes");
    drop(f);

    let b = TestBroker::start_at(&data, &[]);
    let mut c = b.connect();
    // From 0 with a big max_bytes: every record before the damaged batch.
    let (code, batches) = fetch(&mut c, "damaged", 0, 1 << 20);
    assert_eq!(code, 0, "the intact batches are served");
    assert_eq!(batches, written[..5]);
    // At the damaged batch: an error, and the connection and broker live on.
    for at in [written[5].0, written[5].0 + 1] {
        let (code, batches) = fetch(&mut c, "damaged", at, 1 << 20);
        assert_eq!(code, CORRUPT_MESSAGE, "fetch at offset {at}");
        assert!(batches.is_empty());
    }
    let next = in_first.len() * 3;
    let (code, batches) = fetch(&mut c, "damaged", next as i64, 1 << 20);
    assert_eq!(code, 0, "the next segment is readable");
    assert_eq!(batches.first().map(|b| b.0), Some(next as i64));
}

// ---------------------------------------------------------------------------
// Item 15: deleting topics with names as long as Kafka allows.

#[test]
fn deleting_a_249_character_topic_deletes_its_data() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    for (len, c0) in [(240usize, "a"), (249, "b")] {
        let name: String = c0.repeat(len - 3) + &format!("{len}");
        assert_eq!(create_topic(&mut c, &name, 1).topics[0].error_code, 0);
        let (code, _) = produce_values(&mut c, &name, &values("old", 5));
        assert_eq!(code, 0);
        assert_eq!(delete_topic(&mut c, &name), 0);
        // Removal runs in the background: poll until nothing of the topic
        // is left in the data directory.
        let left = || -> Vec<String> {
            fs::read_dir(&b.data)
                .expect("data dir")
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&name[..200]))
                .collect()
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !left().is_empty() {
            assert!(
                Instant::now() < deadline,
                "the deleted {len}-char topic's data is still there: {:?}",
                left()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(create_topic(&mut c, &name, 1).topics[0].error_code, 0);
        let (code, batches) = fetch(&mut c, &name, 0, 1 << 20);
        assert_eq!(code, 0);
        assert!(
            batches.is_empty(),
            "the re-created {len}-char topic is empty"
        );
        let (code, base) = produce_values(&mut c, &name, &values("new", 2));
        assert_eq!((code, base), (0, 0));
    }
}

#[test]
fn start_up_removes_shortened_delete_directories() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    {
        let b = TestBroker::start_at(&data, &[]);
        let mut c = b.connect();
        assert_eq!(create_topic(&mut c, "keep", 1).topics[0].error_code, 0);
        let (code, _) = produce_values(&mut c, "keep", &values("k", 3));
        assert_eq!(code, 0);
    }
    // What a crash between the rename and the removal leaves behind, with
    // the topic part cut short so the name fits in 255 bytes.
    let leftover = data.join(format!(
        "{}-0.{}-delete",
        "d".repeat(255 - "-0.".len() - 32 - "-delete".len()),
        "0123456789abcdef0123456789abcdef"
    ));
    assert_eq!(leftover.file_name().map(|n| n.len()), Some(255));
    fs::create_dir_all(&leftover).expect("leftover delete dir");
    fs::write(leftover.join(format!("{:020}.log", 0)), b"old data").expect("old data");
    let b = TestBroker::start_at(&data, &[]);
    assert!(!leftover.exists(), "start-up removes delete directories");
    let mut c = b.connect();
    let (code, batches) = fetch(&mut c, "keep", 0, 1 << 20);
    assert_eq!(code, 0);
    assert_eq!(offsets(&batches), vec![0, 1, 2], "live partitions are kept");
}
