//! The metadata quorum on loopback: three voters elect a leader, accept
//! writes through any member, survive the leader's death, let it rejoin,
//! and end with identical images; one voter restarts from its snapshot.

mod common;

use common::{config, eventually, leader, start_voters, voter_addrs, WAIT};

use std::time::{Duration, Instant};

use memorystreamer_raft::quorum::{Quorum, QuorumError};
use memorystreamer_raft::MetadataRecord;
use uuid::Uuid;

fn topic(name: &str) -> Vec<MetadataRecord> {
    common::topic(Uuid::new_v4(), name)
}

fn has_topic(q: &Quorum, name: &str) -> bool {
    q.image().topic(name).is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_voters_survive_losing_the_leader() {
    let root = tempfile::tempdir().expect("tmp");
    let voters = voter_addrs(3);
    let mut nodes = start_voters(root.path(), &voters).await;
    let leader = leader(&nodes).await;
    for id in 1..=3 {
        nodes[&id]
            .write(
                vec![MetadataRecord::BrokerRegistered {
                    node_id: id as i32,
                    host: "127.0.0.1".into(),
                    port: 9092 + id as i32,
                    rack: None,
                }],
                WAIT,
            )
            .await
            .expect("register");
    }
    // A follower's write is forwarded to the leader.
    let follower = (1..=3).find(|i| *i != leader).expect("follower");
    nodes[&follower]
        .write(topic("orders"), WAIT)
        .await
        .expect("forwarded write");
    for q in nodes.values() {
        q.wait_applied(WAIT).await.expect("applied");
    }
    eventually("orders everywhere", || {
        nodes.values().all(|q| has_topic(q, "orders"))
    })
    .await;
    // The state machine's decision is deterministic: a duplicate is refused.
    match nodes[&leader].write(topic("orders"), WAIT).await {
        Err(QuorumError::Rejected(msg)) => assert!(msg.contains("already exists"), "{msg}"),
        other => panic!("duplicate topic accepted: {other:?}"),
    }
    // Kill the leader: the others elect a new one and keep writing.
    let old = nodes.remove(&leader).expect("old leader");
    old.shutdown().await;
    let killed_at = Instant::now();
    let survivor = nodes.keys().next().copied().expect("survivor");
    nodes[&survivor]
        .write(topic("after-failover"), WAIT)
        .await
        .expect("write after failover");
    assert!(
        killed_at.elapsed() < Duration::from_secs(10),
        "failover took {:?}",
        killed_at.elapsed()
    );
    // The dead broker misses its session and is fenced by the new leader.
    let fenced = |q: &Quorum| q.image().broker(leader as i32).is_some_and(|b| b.fenced);
    eventually("the dead broker to be fenced", || {
        nodes.values().all(fenced)
    })
    .await;
    assert!(!nodes[&survivor]
        .image()
        .live_brokers()
        .contains(&(leader as i32)));
    // The old leader restarts on its data and catches up.
    nodes.insert(
        leader,
        Quorum::start(config(leader, root.path(), &voters))
            .await
            .expect("restart"),
    );
    eventually("the restarted node to catch up", || {
        has_topic(&nodes[&leader], "after-failover")
    })
    .await;
    eventually("the restarted broker to be unfenced", || {
        nodes.values().all(|q| !fenced(q))
    })
    .await;
    for q in nodes.values() {
        q.wait_applied(WAIT).await.expect("applied");
    }
    let images: Vec<_> = nodes.values().map(|q| q.image().to_records()).collect();
    assert!(
        images.windows(2).all(|w| w[0] == w[1]),
        "images differ: {images:?}"
    );
    for (_, q) in nodes {
        q.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_voter_restarts_from_snapshot_and_log() {
    let root = tempfile::tempdir().expect("tmp");
    let voters = voter_addrs(1);
    let q = Quorum::start(config(1, root.path(), &voters))
        .await
        .expect("start");
    // More entries than the snapshot policy (1000): a snapshot is taken and
    // the log purged behind it.
    for i in 0..1100 {
        q.write(topic(&format!("t{i}")), WAIT).await.expect("write");
    }
    let before = q.image().to_records();
    q.shutdown().await;
    assert!(
        root.path().join("node-1").join("snapshot.json").exists(),
        "snapshot written"
    );
    let q = Quorum::start(config(1, root.path(), &voters))
        .await
        .expect("restart");
    q.wait_applied(WAIT).await.expect("applied");
    eventually("replay", || q.image().topics().count() == 1100).await;
    assert_eq!(q.image().to_records(), before);
    q.write(topic("one-more"), WAIT)
        .await
        .expect("write after restart");
    q.shutdown().await;
}
