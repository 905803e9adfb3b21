//! The README's three-node cluster on one host (issue 12, item 7): the
//! commands of its "A three-node cluster on one machine" section, run as
//! written (ports mapped to free ones so the test never collides with a
//! broker already running), bring up three nodes that each serve Kafka and
//! `/metrics`; without `--metrics-addr` the nodes still start (the default
//! metrics port falls back when another node holds it); an explicitly
//! chosen metrics address that is taken stays a clear error.

mod common;

use common::{answers_kafka, free_port, scrape, Nodes};

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `V=` line and the argument lists of the `cargo run --release --`
/// commands in README.md's three-node section.
fn readme_commands() -> (String, Vec<Vec<String>>) {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let section = readme
        .split("## A three-node cluster on one machine")
        .nth(1)
        .expect("three-node section");
    let block = section
        .split("```sh")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("code block");
    let joined = block.replace("\\\n", " ");
    let mut voters = None;
    let mut commands = Vec::new();
    for line in joined.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("V=") {
            voters = Some(v.to_string());
        } else if let Some(args) = line.strip_prefix("cargo run --release --") {
            commands.push(args.split_whitespace().map(String::from).collect());
        }
    }
    (voters.expect("V= line"), commands)
}

/// Replaces every `127.0.0.1:PORT` with a free port (the same one for the
/// same port everywhere).
fn remap(text: &str, ports: &mut BTreeMap<u16, u16>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("127.0.0.1:") {
        let (head, tail) = rest.split_at(i + "127.0.0.1:".len());
        out.push_str(head);
        let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
        let port: u16 = digits.parse().expect("port");
        // A released ephemeral port can be handed out again: never map two
        // README ports to one.
        let mapped = match ports.get(&port) {
            Some(m) => *m,
            None => {
                let mut p = free_port();
                while ports.values().any(|v| *v == p) {
                    p = free_port();
                }
                ports.insert(port, p);
                p
            }
        };
        out.push_str(&mapped.to_string());
        rest = &tail[digits.len()..];
    }
    out.push_str(rest);
    out
}

fn spawn(dir: &Path, args: &[String], log: &str) -> Child {
    let out = std::fs::File::create(dir.join(log)).expect("log");
    Command::new(env!("CARGO_BIN_EXE_memorystreamer"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "info,openraft=warn")
        .env("NO_COLOR", "1")
        .stdout(Stdio::from(out.try_clone().expect("clone")))
        .stderr(Stdio::from(out))
        .spawn()
        .expect("spawn")
}

/// The argument following `flag`.
fn arg<'a>(args: &'a [String], flag: &str) -> &'a str {
    let i = args.iter().position(|a| a == flag).expect("flag");
    &args[i + 1]
}

fn port_of(listener: &str) -> u16 {
    listener
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port")
}

/// Starts the README's three nodes (minus `drop_flags`) and waits until all
/// of them answer on their Kafka listener; returns them, their arguments
/// and their logs' directory.
fn start_readme_cluster(dir: &Path, without_metrics_flag: bool) -> (Nodes, Vec<Vec<String>>) {
    let (voters, commands) = readme_commands();
    assert_eq!(commands.len(), 3, "the README shows three commands");
    let mut ports = BTreeMap::new();
    let voters = remap(&voters, &mut ports);
    let mut nodes = Nodes(Vec::new());
    let mut all = Vec::new();
    for (i, cmd) in commands.iter().enumerate() {
        let mut args: Vec<String> = Vec::new();
        let mut it = cmd.iter();
        while let Some(a) = it.next() {
            if without_metrics_flag && a == "--metrics-addr" {
                it.next();
                continue;
            }
            args.push(if a == "$V" {
                voters.clone()
            } else {
                remap(a, &mut ports)
            });
        }
        nodes.0.push(spawn(dir, &args, &format!("node{i}.log")));
        all.push(args);
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    for (i, args) in all.iter().enumerate() {
        let port = port_of(arg(args, "--listeners"));
        while !answers_kafka(port) {
            if let Ok(Some(status)) = nodes.0[i].try_wait() {
                panic!(
                    "node {i} exited with {status}: {}",
                    std::fs::read_to_string(dir.join(format!("node{i}.log"))).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "node {i} never answered");
            std::thread::park_timeout(Duration::from_millis(100));
        }
    }
    (nodes, all)
}

#[test]
fn the_readme_three_node_commands_start_a_cluster_with_metrics_on_each_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut nodes, args) = start_readme_cluster(dir.path(), false);
    for (i, a) in args.iter().enumerate() {
        let addr = arg(a, "--metrics-addr");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(text) = scrape(addr) {
                assert!(text.contains("memorystreamer_"), "node {i}: {text}");
                break;
            }
            assert!(Instant::now() < deadline, "node {i}: no metrics at {addr}");
            std::thread::park_timeout(Duration::from_millis(100));
        }
        assert!(
            nodes.0[i].try_wait().expect("status").is_none(),
            "node {i} exited"
        );
    }
    // All three are in one cluster: each one's metrics name the same
    // quorum leader.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let leaders: Vec<Option<String>> = args
            .iter()
            .map(|a| {
                scrape(arg(a, "--metrics-addr")).and_then(|t| {
                    t.lines()
                        .find(|l| l.starts_with("memorystreamer_raft_leader_id "))
                        .map(|l| l.rsplit(' ').next().unwrap_or("").to_string())
                })
            })
            .collect();
        if leaders[0].as_deref().is_some_and(|l| l != "-1")
            && leaders.iter().all(|l| *l == leaders[0])
        {
            break;
        }
        assert!(Instant::now() < deadline, "no common leader: {leaders:?}");
        std::thread::park_timeout(Duration::from_millis(200));
    }
    drop(nodes);
}

#[test]
fn without_metrics_flags_every_node_still_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Hold the default metrics port so that every node must fall back (if
    // something else already holds it, that does the same).
    let _held = std::net::TcpListener::bind("127.0.0.1:9644");
    let (mut nodes, _args) = start_readme_cluster(dir.path(), true);
    for i in 0..3 {
        let log_path = dir.path().join(format!("node{i}.log"));
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Some(addr) = log
                .lines()
                .find_map(|l| l.split("metrics at http://").nth(1))
                .and_then(|r| r.split("/metrics").next())
            {
                break addr.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "node {i} logged no metrics address: {log}"
            );
            std::thread::park_timeout(Duration::from_millis(100));
        };
        assert!(scrape(&addr).is_some(), "node {i}: no metrics at {addr}");
        assert!(
            nodes.0[i].try_wait().expect("status").is_none(),
            "node {i} exited"
        );
    }
    drop(nodes);
}

#[test]
fn an_explicit_metrics_address_in_use_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = held.local_addr().expect("addr");
    let out = Command::new(env!("CARGO_BIN_EXE_memorystreamer"))
        .args([
            "--data-dir",
            &dir.path().join("d").display().to_string(),
            "--listeners",
            &format!("PLAINTEXT://127.0.0.1:{}", free_port()),
            "--metrics-addr",
            &taken.to_string(),
        ])
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    assert!(
        !out.status.success(),
        "started with its metrics address taken"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen for metrics on {taken}")),
        "{stderr}"
    );
}
