//! Harness for black-box compatibility tests: starts the real
//! `memorystreamer` binary on a free loopback port with its own data
//! directory, and locates the real clients (Python venv, Node modules,
//! kcat) that judge it.
//!
//! A client that cannot be found is a test failure with a message saying
//! how to install it (`scripts/test.sh` does), never a skip.

pub mod differential;
pub mod maven;

pub use maven::{mvn, JavaRun};

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Root of the workspace.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The broker binary: `$MEMORYSTREAMER_BIN`, else the one next to the test
/// executable's profile directory (`target/<profile>/memorystreamer`).
pub fn broker_binary() -> PathBuf {
    if let Ok(p) = std::env::var("MEMORYSTREAMER_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test-exe>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let bin = profile_dir.join("memorystreamer");
    assert!(
        bin.exists(),
        "broker binary not found at {}: build it first (cargo build --release -p memorystreamer-broker) \
         or set MEMORYSTREAMER_BIN",
        bin.display()
    );
    bin
}

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// `n` distinct free TCP ports on 127.0.0.1: all bound at once, then
/// released, so no two are the same (separate [`free_port`] calls can hand
/// out one port twice, and a cluster's nodes then fight over it).
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

/// A running broker process.
pub struct Broker {
    child: Option<Child>,
    /// Kafka port.
    pub port: u16,
    /// Port of the Prometheus endpoint (`/metrics`).
    pub metrics_port: u16,
    /// Data directory (kept across restarts).
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    extra_args: Vec<String>,
    log_path: PathBuf,
    /// The listeners a test chose ([`Broker::start_with_listeners`]):
    /// name and port, in `listeners` order. Empty: one PLAINTEXT
    /// listener on `port`.
    listeners: Vec<(String, u16)>,
}

impl Broker {
    /// Starts a broker with a fresh data directory.
    pub fn start(extra_args: &[&str]) -> Broker {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data_dir = tmp.path().join("data");
        let log_path = tmp.path().join("broker.log");
        let ports = free_ports(2);
        let mut b = Broker {
            child: None,
            port: ports[0],
            metrics_port: ports[1],
            data_dir,
            _tmp: Some(tmp),
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            log_path,
            listeners: Vec::new(),
        };
        b.spawn();
        b
    }

    /// Starts a broker with a fresh data directory whose `listeners` are
    /// `names` (in this order), each on its own free loopback port:
    /// `["SASL_SSL", "PLAINTEXT"]` gives
    /// `--listeners SASL_SSL://127.0.0.1:<p1>,PLAINTEXT://127.0.0.1:<p2>`.
    /// A name that is not a security protocol needs its
    /// `listener.security.protocol.map` in `extra_args`. Waits until every
    /// listener accepts connections. `port` (and [`Broker::bootstrap`]) is
    /// the first listener's; [`Broker::listener_bootstrap`] names the others.
    pub fn start_with_listeners(names: &[&str], extra_args: &[&str]) -> Broker {
        assert!(!names.is_empty(), "start_with_listeners: no listener");
        let tmp = tempfile::tempdir().expect("tempdir");
        let ports = free_ports(names.len() + 1);
        let mut b = Broker {
            child: None,
            port: ports[0],
            metrics_port: ports[names.len()],
            data_dir: tmp.path().join("data"),
            log_path: tmp.path().join("broker.log"),
            _tmp: Some(tmp),
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            listeners: names
                .iter()
                .zip(&ports)
                .map(|(n, p)| (n.to_string(), *p))
                .collect(),
        };
        b.spawn();
        b
    }

    /// `127.0.0.1:<port>` of the listener named `name` (as given to
    /// [`Broker::start_with_listeners`]); panics if there is none.
    pub fn listener_bootstrap(&self, name: &str) -> String {
        let port = self
            .listeners
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| *p)
            .unwrap_or_else(|| panic!("no listener {name} in {:?}", self.listeners));
        format!("127.0.0.1:{port}")
    }

    /// `127.0.0.1:<port>`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn spawn_process(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("broker log file");
        let listeners = if self.listeners.is_empty() {
            format!("PLAINTEXT://127.0.0.1:{}", self.port)
        } else {
            self.listeners
                .iter()
                .map(|(name, port)| format!("{name}://127.0.0.1:{port}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let child = Command::new(broker_binary())
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--listeners")
            .arg(listeners)
            .arg("--metrics-addr")
            .arg(format!("127.0.0.1:{}", self.metrics_port))
            .args(&self.extra_args)
            .env("NO_COLOR", "1")
            .env(
                "RUST_LOG",
                std::env::var("BROKER_LOG").unwrap_or_else(|_| "info,openraft=warn".into()),
            )
            .stdout(Stdio::from(log.try_clone().expect("clone log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start the broker binary");
        self.child = Some(child);
    }

    fn spawn(&mut self) {
        self.spawn_process();
        self.wait_ready(Duration::from_secs(30));
    }

    fn wait_ready(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut ports: Vec<u16> = self.listeners.iter().map(|(_, p)| *p).collect();
        if ports.is_empty() {
            ports.push(self.port);
        }
        loop {
            if ports
                .iter()
                .all(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok())
            {
                return;
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("broker exited during start-up ({status}):\n{}", self.log());
                }
            }
            assert!(
                Instant::now() < deadline,
                "broker did not listen within {limit:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The broker's log output so far.
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log_path) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// The last `n` lines of the broker's log.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// SIGKILL: no flush, no graceful anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait (bounded) for a clean exit; returns whether it exited 0.
    pub fn terminate(&mut self) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = c.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the broker again on the same port and data directory.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// Process id of the running broker.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Starts `n` brokers (node ids 1..=n) that form one cluster: each is a
/// voter of the metadata quorum on its own loopback controller port, with
/// `extra_args` added. All processes are started before any is awaited
/// (a node serves Kafka only once the quorum has a leader).
pub fn start_cluster(n: u32, extra_args: &[&str]) -> Vec<Broker> {
    // Controller, Kafka and metrics ports of every node, all distinct.
    let ports = free_ports(3 * n as usize);
    let controllers: Vec<u16> = ports[..n as usize].to_vec();
    let voters = controllers
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}@127.0.0.1:{p}", i + 1))
        .collect::<Vec<_>>()
        .join(",");
    let mut brokers: Vec<Broker> = (0..n)
        .map(|i| {
            let tmp = tempfile::tempdir().expect("tempdir");
            let mut args: Vec<String> = vec![
                "--node-id".into(),
                (i + 1).to_string(),
                "--controller-listener".into(),
                format!("127.0.0.1:{}", controllers[i as usize]),
                "--controller-quorum-voters".into(),
                voters.clone(),
            ];
            args.extend(extra_args.iter().map(|s| s.to_string()));
            Broker {
                child: None,
                port: ports[n as usize + i as usize],
                metrics_port: ports[2 * n as usize + i as usize],
                data_dir: tmp.path().join("data"),
                log_path: tmp.path().join("broker.log"),
                _tmp: Some(tmp),
                extra_args: args,
                listeners: Vec::new(),
            }
        })
        .collect();
    for b in &mut brokers {
        b.spawn_process();
    }
    for b in &mut brokers {
        b.wait_ready(Duration::from_secs(60));
    }
    brokers
}

/// The venv Python with the pinned clients (`compat-tests/.venv`), or
/// `$COMPAT_PYTHON`.
pub fn python() -> PathBuf {
    let p = std::env::var("COMPAT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("compat-tests/.venv/bin/python"));
    assert!(
        p.exists(),
        "Python client environment missing at {}: run scripts/test.sh (it installs confluent-kafka and kafka-python)",
        p.display()
    );
    p
}

/// `node` with `compat-tests/node/node_modules` installed.
pub fn node_dir() -> PathBuf {
    let d = workspace_root().join("compat-tests/node");
    assert!(
        d.join("node_modules/kafkajs").exists(),
        "KafkaJS missing in {}: run scripts/test.sh (npm ci)",
        d.display()
    );
    d
}

/// Path of a file under `compat-tests/`.
pub fn script(rel: &str) -> PathBuf {
    workspace_root().join("compat-tests").join(rel)
}

/// Runs a command with a time limit; panics with its output if it fails
/// or overruns.
pub fn run_ok(cmd: &mut Command, limit: Duration, what: &str) -> Output {
    // cargo points LD_LIBRARY_PATH at build outputs (rdkafka-sys builds its
    // own librdkafka there); clients must load their own libraries.
    let mut child = cmd
        .env_remove("LD_LIBRARY_PATH")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let deadline = Instant::now() + limit;
    // Drain pipes on threads so a chatty client cannot block on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let e = t_err.join().unwrap_or_default();
            panic!(
                "{what}: timed out after {limit:?}\nstderr:\n{}",
                String::from_utf8_lossy(&e)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    let output = Output {
        status,
        stdout,
        stderr,
    };
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs `python/roundtrip.py <cmd>` against `broker` (panics with the
/// client's output and the broker's log tail on failure); returns stdout.
pub fn roundtrip(
    broker: &Broker,
    cmd: &str,
    topic: &str,
    manifest: &Path,
    extra: &[&str],
) -> String {
    let log = broker.log();
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    let out = run_ok(
        Command::new(python())
            .arg(script("python/roundtrip.py"))
            .arg(cmd)
            .args([
                "--bootstrap",
                &broker.bootstrap(),
                "--topic",
                topic,
                "--manifest",
            ])
            .arg(manifest)
            .args(extra),
        Duration::from_secs(300),
        &format!("roundtrip.py {cmd}\nbroker log:\n{tail}"),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A minimal HTTP GET on loopback (for Prometheus' API and `/metrics`):
/// returns the body of a 200 response.
pub fn http_get(port: u16, path_and_query: &str) -> Option<String> {
    use std::io::Write;
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path_and_query} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
    )
    .ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let (head, body) = resp.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| body.to_string())
        .or_else(|| head.starts_with("HTTP/1.0 200").then(|| body.to_string()))
}

/// Runs `cmd` (bounded by `limit`); on failure panics with the client's
/// output and the last `tail` lines of the broker's log as it was after the
/// failure. Returns stdout.
pub fn run_judged(
    broker: &Broker,
    cmd: &mut Command,
    limit: Duration,
    tail: usize,
    what: &str,
) -> String {
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_ok(cmd, limit, what)));
    match run {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{msg}\nbroker log tail:\n{}", broker.log_tail(tail));
        }
    }
}

/// Runs `python/<script> <cmd> --bootstrap … --topic <topic>` against
/// `broker`; on failure panics with the client's output and the broker's log
/// tail as it was after the failure. Returns stdout.
pub fn python_scenario(broker: &Broker, script_name: &str, cmd: &str, topic: &str) -> String {
    run_judged(
        broker,
        Command::new(python())
            .arg(script(&format!("python/{script_name}")))
            .arg(cmd)
            .args(["--bootstrap", &broker.bootstrap(), "--topic", topic]),
        Duration::from_secs(300),
        60,
        &format!("{script_name} {cmd}"),
    )
}

/// Runs a Kafka command-line tool of `compat-tests/java/bin/` with
/// `--bootstrap-server` pointing at `via`, judged by [`run_judged`]; fails
/// (never skips) when Apache Kafka's tool jars are missing
/// (`java/kafka-dist/fetch.sh`, which `scripts/test.sh` runs).
pub fn kafka_tool(via: &Broker, name: &str, args: &[&str]) -> String {
    let jars = script("java/kafka-dist/lib/.complete");
    assert!(
        jars.exists(),
        "Apache Kafka's tool jars are missing ({}): run compat-tests/java/kafka-dist/fetch.sh \
         (scripts/test.sh does; needs Maven and Java 17+)",
        jars.display()
    );
    let mut cmd = Command::new(script(&format!("java/bin/{name}")));
    cmd.args(["--bootstrap-server", &via.bootstrap()])
        .args(args)
        .stdin(Stdio::null());
    let out = run_judged(
        via,
        &mut cmd,
        Duration::from_secs(120),
        60,
        &format!("{name} {args:?}"),
    );
    println!("{name} {args:?}:\n{out}");
    out
}
