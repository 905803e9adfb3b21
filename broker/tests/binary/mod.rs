//! Helpers for tests that run the real `memorystreamer` binary on a data
//! directory they prepare (and damage): start it on free loopback ports
//! and wait until it serves, stop it, run it to its exit, speak raw Kafka
//! requests to it, and fingerprint a directory tree to prove a refused
//! start changed nothing. Not here: in-process brokers and the raw client
//! itself (`common`, which every file using this module declares too).
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

pub use crate::common::free_port;

fn command(data: &Path, log: &Path, port: u16, overrides: &[&str]) -> Command {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("broker log file");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_memorystreamer"));
    cmd.arg("--data-dir")
        .arg(data)
        .arg("--listeners")
        .arg(format!("PLAINTEXT://127.0.0.1:{port}"))
        .arg("--metrics-addr")
        .arg(format!("127.0.0.1:{}", free_port()));
    for o in overrides {
        cmd.arg("-o").arg(o);
    }
    cmd.env("NO_COLOR", "1")
        .env("RUST_LOG", "info,openraft=warn")
        .stdout(Stdio::from(out.try_clone().expect("clone log")))
        .stderr(Stdio::from(out));
    cmd
}

/// What the broker wrote to `log` so far.
pub fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// A running broker process, killed when dropped.
pub struct Running {
    child: Option<Child>,
    /// Kafka port.
    pub port: u16,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
}

impl Running {
    /// Starts the binary on `data` and waits (at most 60 s) until it
    /// accepts connections; panics with its log if it exits first.
    pub fn start(data: &Path, log: &Path, overrides: &[&str]) -> Running {
        let port = free_port();
        let child = command(data, log, port, overrides)
            .spawn()
            .expect("start the broker binary");
        let mut r = Running {
            child: Some(child),
            port,
            log: log.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return r;
            }
            if let Some(Ok(Some(status))) = r.child.as_mut().map(Child::try_wait) {
                panic!(
                    "broker exited during start-up ({status}):\n{}",
                    read_log(log)
                );
            }
            assert!(
                Instant::now() < deadline,
                "broker did not listen within 60 s:\n{}",
                read_log(log)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A connected client.
    pub fn client(&self) -> Client {
        Client::connect_to(self.port)
    }

    /// SIGTERM, then waits (at most 20 s, then SIGKILL) for the exit.
    pub fn stop(&mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !matches!(c.try_wait(), Ok(Some(_))) {
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs the binary on `data` expecting it to exit by itself within
/// `limit` (a refused start); returns its status and output. Panics (after
/// killing it) if it serves or outlives `limit`.
pub fn run_to_exit(
    data: &Path,
    log: &Path,
    overrides: &[&str],
    limit: Duration,
) -> (ExitStatus, String) {
    let port = free_port();
    let mut child = command(data, log, port, overrides)
        .spawn()
        .expect("start the broker binary");
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return (status, read_log(log));
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("broker started instead of refusing:\n{}", read_log(log));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every file under `dir` as (relative path, length, CRC32C of the bytes),
/// sorted; directories as (path, 0, 0).
pub fn fingerprint(dir: &Path) -> Vec<(String, u64, u32)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, u64, u32)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            if path.is_dir() {
                out.push((rel + "/", 0, 0));
                walk(root, &path, out);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                out.push((rel, bytes.len() as u64, crc32c::crc32c(&bytes)));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Copies the tree `from` to `to` (created).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

pub use crate::common::Client;

/// Shortcuts the binary-based tests use on the shared raw client.
impl Client {
    /// Creates `name` with `partitions` partitions; returns the error code.
    pub fn create_topic(&mut self, name: &str, partitions: i32) -> i16 {
        let req = CreateTopicsRequest::default().with_topics(vec![
            create_topics_request::CreatableTopic::default()
                .with_name(TopicName(StrBytes::from_string(name.to_string())))
                .with_num_partitions(partitions)
                .with_replication_factor(1),
        ]);
        let r: CreateTopicsResponse = self.call(ApiKey::CreateTopics, 7, &req);
        r.topics[0].error_code
    }

    /// Every topic's name and id, from Metadata.
    pub fn topics(&mut self) -> Vec<(String, uuid::Uuid)> {
        let req = MetadataRequest::default().with_topics(None);
        let r: MetadataResponse = self.call(ApiKey::Metadata, 12, &req);
        let mut v: Vec<(String, uuid::Uuid)> = r
            .topics
            .iter()
            .filter_map(|t| Some((t.name.as_ref()?.to_string(), t.topic_id)))
            .collect();
        v.sort();
        v
    }

    /// A new idempotent producer id.
    pub fn init_producer_id(&mut self) -> i64 {
        let req = InitProducerIdRequest::default()
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        let r: InitProducerIdResponse = self.call(ApiKey::InitProducerId, 4, &req);
        assert_eq!(r.error_code, 0, "InitProducerId");
        r.producer_id.0
    }

    /// InitProducerId for `transactional_id`, retried (at most 30 s) while
    /// the coordinator is loading; returns (producer id, epoch).
    pub fn init_transactional(&mut self, transactional_id: &str) -> (i64, i16) {
        let req = InitProducerIdRequest::default()
            .with_transactional_id(Some(TransactionalId(StrBytes::from_string(
                transactional_id.to_string(),
            ))))
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        // FindCoordinator creates `__transaction_state` on first use.
        let find = FindCoordinatorRequest::default()
            .with_key_type(1)
            .with_coordinator_keys(vec![StrBytes::from_string(transactional_id.to_string())]);
        let found: FindCoordinatorResponse = self.call(ApiKey::FindCoordinator, 4, &find);
        assert_eq!(found.coordinators[0].error_code, 0, "FindCoordinator");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r: InitProducerIdResponse = self.call(ApiKey::InitProducerId, 4, &req);
            if r.error_code == 0 {
                return (r.producer_id.0, r.producer_epoch);
            }
            assert!(
                Instant::now() < deadline,
                "InitProducerId({transactional_id}): error {}",
                r.error_code
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A simple-group offset commit (generation -1); returns the error code.
    pub fn commit(&mut self, group: &str, topic: &str, partition: i32, offset: i64) -> i16 {
        let req = OffsetCommitRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_generation_id_or_member_epoch(-1)
            .with_topics(vec![
                offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                    .with_partitions(vec![
                        offset_commit_request::OffsetCommitRequestPartition::default()
                            .with_partition_index(partition)
                            .with_committed_offset(offset),
                    ]),
            ]);
        let r: OffsetCommitResponse = self.call(ApiKey::OffsetCommit, 8, &req);
        r.topics[0].partitions[0].error_code
    }

    /// A group's committed offsets as (topic, partition, offset), sorted.
    pub fn committed(&mut self, group: &str) -> Vec<(String, i32, i64)> {
        let req = OffsetFetchRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_topics(None);
        let r: OffsetFetchResponse = self.call(ApiKey::OffsetFetch, 7, &req);
        let mut v: Vec<(String, i32, i64)> = r
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|p| (t.name.to_string(), p.partition_index, p.committed_offset))
            })
            .collect();
        v.sort();
        v
    }
}
