//! `Quorum::status` (what DescribeQuorum reports) on three loopback voters:
//! the leader knows every follower's log end and when it last answered and
//! was caught up; a stopped follower falls behind while its times stand
//! still; followers report only what they know themselves.

mod common;

use common::{leader, start_voters, voter_addrs, WAIT};

use std::time::{Duration, Instant};

use memorystreamer_raft::quorum::{Quorum, QuorumStatus};
use uuid::Uuid;

/// Polls the leader's status every 20 ms until `f` holds or `WAIT` passes.
async fn status_until(q: &Quorum, what: &str, f: impl Fn(&QuorumStatus) -> bool) -> QuorumStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        let s = q.status().await.expect("status");
        if f(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_reports_every_voter() {
    let root = tempfile::tempdir().expect("tmp");
    let voters = voter_addrs(3);
    let mut nodes = start_voters(root.path(), &voters).await;
    let leader = leader(&nodes).await;
    let started = now_ms();
    nodes[&leader]
        .write(common::topic(Uuid::new_v4(), "a"), WAIT)
        .await
        .expect("write");

    // Every follower caught up with the leader's log, recently.
    let s = status_until(&nodes[&leader], "followers caught up", |s| {
        let end = s
            .voters
            .iter()
            .find(|v| v.node_id == leader)
            .and_then(|v| v.log_end_offset);
        s.voters
            .iter()
            .all(|v| v.log_end_offset == end && v.last_caught_up_ms.is_some_and(|t| t >= started))
    })
    .await;
    assert!(s.is_leader);
    assert_eq!(s.leader_id, Some(leader));
    assert!(s.term >= 1);
    assert_eq!(
        s.voters.iter().map(|v| v.node_id).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    for v in &s.voters {
        assert_eq!(v.address, voters[&v.node_id]);
        assert!(v.last_fetch_ms.is_some_and(|t| t >= started), "{v:?}");
    }
    // The topic write and everything before it are committed.
    let hw = s.high_watermark.expect("committed entries");
    assert_eq!(Some(hw), s.voters[0].log_end_offset, "all caught up: {s:?}");

    // A follower reports itself, the leader and the term, not the others.
    let follower = (1..=3).find(|id| *id != leader).expect("a follower");
    let f = nodes[&follower].status().await.expect("status");
    assert!(!f.is_leader);
    assert_eq!(f.leader_id, Some(leader));
    for v in &f.voters {
        if v.node_id == follower {
            assert!(v.log_end_offset.is_some(), "{v:?}");
        } else {
            assert_eq!((v.log_end_offset, v.last_fetch_ms), (None, None), "{v:?}");
        }
    }

    // A stopped follower: its log end and times stand still while the
    // leader's log moves on.
    let stopped = nodes.remove(&follower).expect("follower");
    stopped.shutdown().await;
    // Once a write committed without it, any answer it gave before it
    // stopped has been noted.
    nodes[&leader]
        .write(common::topic(Uuid::new_v4(), "b"), WAIT)
        .await
        .expect("write with two of three voters");
    let before = nodes[&leader]
        .status()
        .await
        .expect("status")
        .voters
        .into_iter()
        .find(|v| v.node_id == follower)
        .expect("voter");
    for i in 0..2 {
        nodes[&leader]
            .write(common::topic(Uuid::new_v4(), &format!("b{i}")), WAIT)
            .await
            .expect("write with two of three voters");
    }
    let s = status_until(
        &nodes[&leader],
        "the leader's log past the stopped follower",
        |s| {
            let end = |id| {
                s.voters
                    .iter()
                    .find(|v| v.node_id == id)
                    .and_then(|v| v.log_end_offset)
            };
            end(leader) > end(follower)
        },
    )
    .await;
    let after = s
        .voters
        .iter()
        .find(|v| v.node_id == follower)
        .expect("voter");
    assert_eq!(after.log_end_offset, before.log_end_offset, "{s:?}");
    assert_eq!(after.last_fetch_ms, before.last_fetch_ms, "{s:?}");
    assert_eq!(after.last_caught_up_ms, before.last_caught_up_ms, "{s:?}");
    assert!(
        s.high_watermark > Some(hw),
        "the majority still commits: {s:?}"
    );
    for q in nodes.values() {
        q.shutdown().await;
    }
}
