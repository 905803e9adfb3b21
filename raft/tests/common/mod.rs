//! Helpers shared by the raft crate's integration tests. Each test crate
//! uses a part of them.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use memorystreamer_raft::quorum::{Quorum, QuorumConfig};
use memorystreamer_raft::transport::PlainTcp;
use memorystreamer_raft::MetadataRecord;
use uuid::Uuid;

/// How long a test waits for the quorum to reach a state.
pub const WAIT: Duration = Duration::from_secs(20);

/// Loopback addresses for voters `1..=n`: all bound at once, then released,
/// so no two are the same (separate binds can hand one port out twice).
pub fn voter_addrs(n: u64) -> BTreeMap<u64, String> {
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    (1..=n)
        .zip(&listeners)
        .map(|(id, l)| (id, l.local_addr().expect("addr").to_string()))
        .collect()
}

/// Voter `id`'s configuration: its directory under `root`, fast heartbeats.
pub fn config(id: u64, root: &Path, voters: &BTreeMap<u64, String>) -> QuorumConfig {
    QuorumConfig {
        node_id: id,
        dir: root.join(format!("node-{id}")),
        listen: voters[&id].clone(),
        voters: voters.clone(),
        election_timeout: Duration::from_millis(600),
        session_timeout: Duration::from_secs(3),
        broker_heartbeat: Duration::from_millis(500),
        transport: std::sync::Arc::new(PlainTcp),
    }
}

/// Starts every voter of `voters` with its directory under `root`.
pub async fn start_voters(root: &Path, voters: &BTreeMap<u64, String>) -> BTreeMap<u64, Quorum> {
    let mut nodes = BTreeMap::new();
    for &id in voters.keys() {
        nodes.insert(
            id,
            Quorum::start(config(id, root, voters))
                .await
                .expect("start"),
        );
    }
    nodes
}

/// Polls `f` every 20 ms until it holds or [`WAIT`] passes.
pub async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for a leader among `nodes`; returns its id.
pub async fn leader(nodes: &BTreeMap<u64, Quorum>) -> u64 {
    // openraft lets two candidates lead in one term (its leader id is
    // term + node) until one of them commits, so a node that calls itself
    // leader is not yet *the* leader: wait until every node names the same
    // one and it is leading.
    let agreed = || {
        let mut named = nodes.values().map(|q| q.leader());
        let first = named.next().flatten()?;
        named
            .all(|l| l == Some(first))
            .then_some(first)
            .filter(|id| nodes.get(id).is_some_and(|q| q.is_leader()))
    };
    eventually("a leader every node agrees on", || agreed().is_some()).await;
    agreed().expect("leader")
}

/// The records of a one-partition topic `name` with id `id` led by node 1.
pub fn topic(id: Uuid, name: &str) -> Vec<MetadataRecord> {
    vec![
        MetadataRecord::TopicCreated {
            topic_id: id,
            name: name.into(),
            partitions: 1,
            replication_factor: 1,
            configs: vec![],
        },
        MetadataRecord::PartitionCreated {
            topic_id: id,
            partition: 0,
            leader: 1,
            leader_epoch: 0,
            partition_epoch: 0,
            replicas: vec![1],
            isr: vec![1],
        },
    ]
}
