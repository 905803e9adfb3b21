//! `kafka-metadata-quorum describe` against a three-node cluster, asked
//! through every node (DescribeQuorum is forwarded to the quorum leader).

use std::time::{Duration, Instant};

use memorystreamer_compat_tests::start_cluster;

use super::{rows, run, status_field};

#[test]
fn kafka_metadata_quorum_of_three_nodes() {
    let nodes = start_cluster(3, &[]);
    // Every node answers (followers forward to the leader); poll until the
    // leader has heard from both followers.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (status, replication) = loop {
        let status = run(
            &nodes[0],
            "kafka-metadata-quorum",
            &["describe", "--status"],
        );
        let replication = run(
            &nodes[0],
            "kafka-metadata-quorum",
            &["describe", "--replication"],
        );
        let rows_ = rows(&replication);
        let settled = status_field(&status, "MaxFollowerLag:") == "0"
            && rows_.len() == 4
            && rows_[1..].iter().all(|r| r[4] != "-1" && r[5] != "-1");
        if settled {
            break (status, replication);
        }
        assert!(
            Instant::now() < deadline,
            "the quorum did not settle within 60 s:\n{status}\n{replication}"
        );
    };
    let leader: u32 = status_field(&status, "LeaderId:")
        .parse()
        .expect("leader id");
    assert!((1..=3).contains(&leader), "{status}");
    let epoch: i64 = status_field(&status, "LeaderEpoch:")
        .parse()
        .expect("epoch");
    assert!(epoch >= 1, "{status}");
    let hw: i64 = status_field(&status, "HighWatermark:").parse().expect("hw");
    assert!(
        hw > 3,
        "three registrations and the cluster id are committed: {status}"
    );
    let lag_ms: i64 = status_field(&status, "MaxFollowerLagTimeMs:")
        .parse()
        .expect("lag ms");
    assert!(lag_ms >= 0, "{status}");
    let voters = status_field(&status, "CurrentVoters:");
    for id in 1..=3 {
        assert!(
            voters.contains(&format!(
                r#"{{"id": {id}, "endpoints": ["CONTROLLER://127.0.0.1:"#
            )),
            "{status}"
        );
    }
    assert_eq!(status_field(&status, "CurrentObservers:"), "[]", "{status}");

    let r = rows(&replication);
    assert_eq!(
        r[0],
        [
            "NodeId",
            "DirectoryId",
            "LogEndOffset",
            "Lag",
            "LastFetchTimestamp",
            "LastCaughtUpTimestamp",
            "Status"
        ],
        "{replication}"
    );
    assert_eq!(r[1][0], leader.to_string(), "leader first: {replication}");
    assert_eq!(r[1][6], "Leader", "{replication}");
    let leader_end: i64 = r[1][2].parse().expect("log end offset");
    assert!(leader_end >= hw, "{replication}");
    let mut followers: Vec<&str> = r[2..].iter().map(|row| row[0].as_str()).collect();
    followers.sort_unstable();
    let expected: Vec<String> = (1..=3u32)
        .filter(|id| *id != leader)
        .map(|id| id.to_string())
        .collect();
    assert_eq!(followers, expected, "{replication}");
    for row in &r[2..] {
        assert_eq!(
            row[1], "AAAAAAAAAAAAAAAAAAAAAA",
            "static voters have no directory id"
        );
        assert_eq!(row[6], "Follower", "{replication}");
        let end: i64 = row[2].parse().expect("log end offset");
        let lag: i64 = row[3].parse().expect("lag");
        assert_eq!(lag, leader_end - end, "{replication}");
        let fetched: i64 = row[4].parse().expect("timestamp");
        assert!(
            fetched > 1_600_000_000_000,
            "a wall-clock time: {replication}"
        );
    }

    // The same answer through the other nodes (forwarded to the leader).
    for node in &nodes[1..] {
        let out = run(node, "kafka-metadata-quorum", &["describe", "--status"]);
        assert_eq!(status_field(&out, "LeaderId:"), leader.to_string(), "{out}");
        assert_eq!(
            status_field(&out, "LeaderEpoch:"),
            epoch.to_string(),
            "{out}"
        );
    }
}
