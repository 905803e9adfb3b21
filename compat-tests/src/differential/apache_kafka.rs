//! A real Apache Kafka broker as a child process, for differential tests:
//! one node in KRaft combined mode (`process.roles=broker,controller`,
//! `node.id=1`) on free loopback ports, its storage formatted with Kafka's
//! own storage tool in a temporary directory, killed when dropped.
//!
//! The jars come from `compat-tests/java/kafka-dist/fetch.sh` (Maven
//! Central, version pinned in that directory's `pom.xml`); `java` must be
//! on the PATH (or `$JAVA`). A missing jar or JDK is a test failure that
//! says how to install it, never a skip.
//!
//! This module only runs Kafka; what is sent to it and how answers are
//! compared live in [`super::wire`] and [`super`].

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse,
};

use super::wire::{str_bytes, Answer, WireClient};
use crate::{free_ports, run_ok, workspace_root};

/// The Cluster id Kafka is formatted with (any base64 UUID works).
pub const CLUSTER_ID: &str = "MkU3OEVBNTcwNTJENDM2Qg";

/// How long Kafka may take to format and answer (a cold JVM on a busy
/// 2-core machine needs well under a minute; this bounds a hang).
const START_LIMIT: Duration = Duration::from_secs(180);

/// Directory with Kafka's jars.
pub fn kafka_dist_lib() -> PathBuf {
    workspace_root().join("compat-tests/java/kafka-dist/lib")
}

/// The Kafka version fetched into [`kafka_dist_lib`]; panics with how to
/// fetch it when the jars are missing.
pub fn kafka_version() -> String {
    let lib = kafka_dist_lib();
    // fetch.sh pins the version in its pom.xml and marks a finished lib/
    // with `.complete`.
    let pom = std::fs::read_to_string(lib.with_file_name("pom.xml")).unwrap_or_default();
    let version = pom
        .split_once("<kafka.version>")
        .and_then(|(_, rest)| rest.split_once("</kafka.version>"))
        .map(|(v, _)| v.trim().to_string())
        .unwrap_or_default();
    let jar = lib.join(format!("kafka_2.13-{version}.jar"));
    assert!(
        !version.is_empty() && jar.exists() && lib.join(".complete").exists(),
        "Apache Kafka jars missing in {}: run compat-tests/java/kafka-dist/fetch.sh \
         (needs Maven; scripts/test.sh runs it)",
        lib.display()
    );
    version
}

/// The `java` command: `$JAVA`, else `java` on the PATH; panics with how to
/// install a JDK when it does not run.
pub fn java() -> PathBuf {
    let java = std::env::var("JAVA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("java"));
    let ok = Command::new(&java)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "`{}` does not run: Apache Kafka needs a JDK 17 or newer \
         (e.g. apt-get install openjdk-17-jdk-headless, or set $JAVA)",
        java.display()
    );
    java
}

/// A running Apache Kafka broker.
pub struct ApacheKafka {
    child: Option<Child>,
    /// The PLAINTEXT (client) port.
    pub port: u16,
    /// The controller listener's port.
    pub controller_port: u16,
    /// Kafka's version.
    pub version: String,
    dir: tempfile::TempDir,
}

impl ApacheKafka {
    /// Formats storage and starts Kafka with these `server.properties`
    /// entries on top of the single-node defaults; returns once it answers
    /// ApiVersions and lists itself in Metadata.
    pub fn start(extra_props: &[(&str, &str)]) -> ApacheKafka {
        let version = kafka_version();
        let java = java();
        let dir = tempfile::tempdir().expect("tempdir");
        let ports = free_ports(2);
        let (port, controller_port) = (ports[0], ports[1]);
        let data = dir.path().join("data");
        let mut props: Vec<(String, String)> = [
            ("process.roles", "broker,controller".to_string()),
            ("node.id", "1".into()),
            (
                "listeners",
                format!("PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}"),
            ),
            (
                "advertised.listeners",
                format!("PLAINTEXT://127.0.0.1:{port}"),
            ),
            ("controller.listener.names", "CONTROLLER".into()),
            ("inter.broker.listener.name", "PLAINTEXT".into()),
            (
                "listener.security.protocol.map",
                "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT".into(),
            ),
            (
                "controller.quorum.voters",
                format!("1@127.0.0.1:{controller_port}"),
            ),
            ("log.dirs", data.display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in extra_props {
            props.retain(|(pk, _)| pk != k);
            props.push((k.to_string(), v.to_string()));
        }
        let config = dir.path().join("server.properties");
        let text: String = props.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        std::fs::write(&config, text).expect("write server.properties");

        let classpath = format!("{}/*", kafka_dist_lib().display());
        run_ok(
            Command::new(&java)
                .args(["-Xmx256m", "-cp", &classpath, "kafka.tools.StorageTool"])
                .args(["format", "-t", CLUSTER_ID, "-c"])
                .arg(&config),
            START_LIMIT,
            "Kafka storage tool (format)",
        );
        let log = std::fs::File::create(dir.path().join("kafka.log")).expect("kafka log file");
        let child = Command::new(&java)
            .args([
                "-Xmx512m",
                "-Xms128m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-Djava.awt.headless=true",
                "-cp",
                &classpath,
                "kafka.Kafka",
            ])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("clone log")))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start Apache Kafka: {e}"));
        let mut kafka = ApacheKafka {
            child: Some(child),
            port,
            controller_port,
            version,
            dir,
        };
        kafka.wait_ready();
        kafka
    }

    /// `127.0.0.1:<port>`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// What Kafka wrote to stdout/stderr (it has no logging backend on
    /// this class path, so mostly fatal errors).
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.path().join("kafka.log")) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Waits (bounded) until Kafka answers ApiVersions and lists itself as
    /// a broker in Metadata (registered and unfenced).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if self.answers() {
                return;
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "Apache Kafka exited during start-up ({status}):\n{}",
                        self.log()
                    );
                }
            }
            assert!(
                Instant::now() < deadline,
                "Apache Kafka did not answer within {START_LIMIT:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn answers(&self) -> bool {
        let Ok(mut c) = WireClient::connect(self.port, "readiness-probe") else {
            return false;
        };
        if c.set_read_timeout(Duration::from_secs(5)).is_err() {
            return false;
        }
        let req = ApiVersionsRequest::default()
            .with_client_software_name(str_bytes("memorystreamer-differential"))
            .with_client_software_version(str_bytes("1"));
        let Answer::Response(v) = c.call::<_, ApiVersionsResponse>(ApiKey::ApiVersions, 3, &req)
        else {
            return false;
        };
        if v.error_code != 0 {
            return false;
        }
        let m: Answer<MetadataResponse> = c.call(
            ApiKey::Metadata,
            12,
            &MetadataRequest::default().with_topics(Some(vec![])),
        );
        matches!(m, Answer::Response(m) if !m.brokers.is_empty())
    }

    /// Kills Kafka (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for ApacheKafka {
    fn drop(&mut self) {
        self.kill();
    }
}
