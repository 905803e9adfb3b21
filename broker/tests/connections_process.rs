//! Connection resource tests against the `memorystreamer` binary in a
//! process of its own (issue 12, item 14): a peer declaring a huge frame
//! must not make the broker reserve it, and running out of file descriptors
//! must be logged once while existing connections keep being served. A
//! child process lets the test read the broker's own memory from /proc and
//! lower its fd limit (`ulimit -n`) without touching the test process.

mod common;

use common::free_port;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A broker process on a free port, killed when dropped.
struct BrokerProcess {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl BrokerProcess {
    /// Starts the broker with `overrides` (`-o key=value`) under an fd limit
    /// of `nofile` when given, and waits until it answers.
    fn start(overrides: &[&str], nofile: Option<u32>) -> BrokerProcess {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let log = dir.path().join("broker.log");
        let out = std::fs::File::create(&log).expect("log file");
        let mut args: Vec<String> = vec![
            "--data-dir".into(),
            dir.path().join("data").display().to_string(),
            "--listeners".into(),
            format!("PLAINTEXT://127.0.0.1:{port}"),
            "--metrics-addr".into(),
            "off".into(),
        ];
        for o in overrides {
            args.push("-o".into());
            args.push(o.to_string());
        }
        let bin = env!("CARGO_BIN_EXE_memorystreamer");
        let mut cmd = match nofile {
            Some(n) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let child = cmd
            .args(&args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::from(out.try_clone().expect("clone")))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("spawn broker");
        let mut b = BrokerProcess {
            child,
            port,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = b.child.try_wait() {
                panic!("broker exited with {status}: {}", b.log_text());
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                s.set_read_timeout(Some(Duration::from_secs(5)))
                    .expect("timeout");
                if round_trip(&mut s, 0) {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "broker never answered: {}",
                b.log_text()
            );
            std::thread::park_timeout(Duration::from_millis(50));
        }
        b
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `VmData` of the broker process (private writable address space), in
    /// bytes: what a reserved-but-untouched buffer shows up in.
    fn vm_data(&self) -> u64 {
        status_kib(
            &Path::new("/proc").join(self.child.id().to_string()),
            "VmData:",
        ) * 1024
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status_kib(proc_dir: &Path, field: &str) -> u64 {
    let status = std::fs::read_to_string(proc_dir.join("status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("field")
}

/// An ApiVersions v0 request frame (header v1, null client id, empty body).
fn api_versions(correlation_id: i32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&18i16.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&correlation_id.to_be_bytes());
    body.extend_from_slice(&(-1i16).to_be_bytes());
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    frame
}

/// One ApiVersions round trip; true when the broker answered it.
fn round_trip(s: &mut TcpStream, correlation_id: i32) -> bool {
    if s.write_all(&api_versions(correlation_id)).is_err() {
        return false;
    }
    let mut len = [0u8; 4];
    if s.read_exact(&mut len).is_err() {
        return false;
    }
    let mut body = vec![0u8; i32::from_be_bytes(len).max(0) as usize];
    s.read_exact(&mut body).is_ok()
        && body.len() >= 4
        && i32::from_be_bytes([body[0], body[1], body[2], body[3]]) == correlation_id
}

/// True when the broker has closed `s` (EOF or reset); never blocks.
fn is_closed(s: &mut TcpStream) -> bool {
    s.set_nonblocking(true).expect("nonblocking");
    let mut b = [0u8; 16];
    let closed = match s.read(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != ErrorKind::WouldBlock,
    };
    s.set_nonblocking(false).expect("blocking");
    closed
}

#[test]
fn declared_but_unsent_frames_do_not_reserve_memory() {
    const CONNECTIONS: usize = 50;
    const DECLARED: i32 = 100 * 1024 * 1024;
    let b = BrokerProcess::start(&["connections.max.idle.ms=3000"], None);
    let baseline = b.vm_data();
    let mut conns = Vec::new();
    for _ in 0..CONNECTIONS {
        let mut s = b.connect();
        s.write_all(&DECLARED.to_be_bytes()).expect("size");
        s.write_all(&[0u8; 10]).expect("bytes");
        conns.push(s);
    }
    // Until the idle timer has closed all of them (which proves the broker
    // has read their bytes), the broker's address space must stay far below
    // what reserving the declared sizes would take (50 × 100 MiB = 5 GiB).
    let limit = baseline + 1024 * 1024 * 1024;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut peak = baseline;
    loop {
        peak = peak.max(b.vm_data());
        assert!(
            peak < limit,
            "broker reserved memory for declared frames: VmData {} MiB, baseline {} MiB",
            peak >> 20,
            baseline >> 20
        );
        let mut open = 0;
        for s in conns.iter_mut() {
            if !is_closed(s) {
                open += 1;
            }
        }
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} stalled connections never closed"
        );
        std::thread::park_timeout(Duration::from_millis(20));
    }
    let mut s = b.connect();
    assert!(round_trip(&mut s, 1), "broker stopped answering");
}

#[test]
fn out_of_file_descriptors_is_logged_once_and_existing_clients_are_served() {
    const OUT: &str = "cannot accept connections: out of file descriptors";
    const AGAIN: &str = "accepting connections again";
    // A low limit, with room for the internal topics' partitions (the
    // broker refuses to start if it could not open them).
    let b = BrokerProcess::start(
        &[
            "offsets.topic.num.partitions=1",
            "transaction.state.log.num.partitions=1",
        ],
        Some(300),
    );
    let mut keeper = b.connect();
    assert!(round_trip(&mut keeper, 1));
    // More connections than the broker has descriptors left: the excess
    // waits in the listen backlog while accept fails with EMFILE.
    let flood: Vec<TcpStream> = (0..400).map(|_| b.connect()).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !b.log_text().contains(OUT) {
        assert!(
            Instant::now() < deadline,
            "fd exhaustion never logged: {}",
            b.log_text()
        );
        std::thread::park_timeout(Duration::from_millis(50));
    }
    // Existing clients are still served while accepting is failing...
    for id in 2..10 {
        assert!(
            round_trip(&mut keeper, id),
            "existing connection not served"
        );
    }
    // ...and once descriptors free up, new clients are accepted again.
    drop(flood);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", b.port)) {
            s.set_read_timeout(Some(Duration::from_secs(2)))
                .expect("timeout");
            if round_trip(&mut s, 100) {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "never accepted again: {}",
            b.log_text()
        );
        std::thread::park_timeout(Duration::from_millis(50));
    }
    assert!(round_trip(&mut keeper, 200));
    // Logged once per episode, not once per failed accept: every "out of
    // file descriptors" line is followed by "accepting again" before the next.
    let log = b.log_text();
    let events: Vec<bool> = log
        .lines()
        .filter_map(|l| {
            if l.contains(OUT) {
                Some(true)
            } else if l.contains(AGAIN) {
                Some(false)
            } else {
                None
            }
        })
        .collect();
    let outs = events.iter().filter(|e| **e).count();
    assert!(outs >= 1);
    assert!(
        events.windows(2).all(|w| !(w[0] && w[1])),
        "logged more than once per episode ({outs} times): {log}"
    );
    assert!(
        !log.contains("accept failed"),
        "EMFILE was logged per attempt"
    );
}
