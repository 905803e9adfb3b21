//! The metadata state machine is deterministic: the same committed entries
//! give the same image on every node, a rejected request changes nothing
//! anywhere, and a snapshot rebuilds the same image elsewhere.

mod common;

use memorystreamer_raft::state_machine::StateMachine;
use memorystreamer_raft::types::{Entry, MetadataRequest, TypeConfig};
use memorystreamer_raft::MetadataRecord;
use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};
use openraft::{CommittedLeaderId, EntryPayload, LogId};
use uuid::Uuid;

fn entry(index: u64, records: Vec<MetadataRecord>) -> Entry {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
        payload: EntryPayload::Normal(MetadataRequest { records }),
    }
}

use common::topic;

fn entries() -> Vec<Entry> {
    let a = Uuid::from_u128(1);
    let b = Uuid::from_u128(2);
    vec![
        entry(
            1,
            vec![MetadataRecord::ClusterIdSet {
                cluster_id: "c1".into(),
            }],
        ),
        entry(2, topic(a, "orders")),
        // Same name again: rejected as a whole, even its valid-looking part.
        entry(3, topic(b, "orders")),
        entry(
            4,
            vec![MetadataRecord::ClusterIdSet {
                cluster_id: "other".into(),
            }],
        ),
        entry(5, topic(b, "payments")),
        entry(
            6,
            vec![MetadataRecord::TopicConfigChanged {
                topic_id: a,
                configs: vec![("retention.ms".into(), "5".into())],
            }],
        ),
        entry(7, vec![MetadataRecord::TopicDeleted { topic_id: b }]),
    ]
}

#[tokio::test]
async fn same_entries_same_image_rejections_change_nothing() {
    let mut images = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().expect("tmp");
        let mut sm = StateMachine::open(dir.path()).expect("open");
        let responses = sm.apply(entries()).await.expect("apply");
        let rejected: Vec<bool> = responses.iter().map(|r| r.error.is_some()).collect();
        assert_eq!(
            rejected,
            vec![false, false, true, true, false, false, false]
        );
        let image = sm.image();
        assert_eq!(image.cluster_id(), Some("c1"));
        assert!(image.topic("payments").is_none());
        assert_eq!(
            image
                .topic("orders")
                .map(|t| (t.topic_id, t.configs.clone())),
            Some((
                Uuid::from_u128(1),
                vec![("retention.ms".into(), "5".into())]
            ))
        );
        let (applied, _) = sm.applied_state().await.expect("applied");
        assert_eq!(applied.map(|l| l.index), Some(7));
        images.push(image.to_records());
    }
    assert_eq!(images[0], images[1]);
}

#[tokio::test]
async fn snapshot_rebuilds_the_image_on_another_node() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut sm = StateMachine::open(dir.path()).expect("open");
    sm.apply(entries()).await.expect("apply");
    let mut builder = sm.get_snapshot_builder().await;
    let snap: openraft::storage::Snapshot<TypeConfig> =
        builder.build_snapshot().await.expect("snapshot");
    let other_dir = tempfile::tempdir().expect("tmp");
    let mut other = StateMachine::open(other_dir.path()).expect("open");
    other
        .install_snapshot(&snap.meta, snap.snapshot)
        .await
        .expect("install");
    assert_eq!(other.image().to_records(), sm.image().to_records());
    // And it survives a restart of that node.
    drop(other);
    let reopened = StateMachine::open(other_dir.path()).expect("reopen");
    assert_eq!(reopened.image().to_records(), sm.image().to_records());
}

/// `PartitionsPlaced` is expanded by applying the log: round-robin over the
/// brokers live at that position (fenced ones skipped), or the client's
/// assignment checked against registered brokers (at least one live).
#[test]
fn placement_is_decided_by_the_log() {
    use memorystreamer_raft::MetadataImage;
    let t = Uuid::from_u128(9);
    let reg = |id: i32| MetadataRecord::BrokerRegistered {
        node_id: id,
        host: "h".into(),
        port: 9000 + id,
        rack: None,
    };
    let base = MetadataImage::default()
        .apply_all(&[
            reg(1),
            reg(2),
            reg(3),
            MetadataRecord::BrokerFenced { node_id: 2 },
            MetadataRecord::TopicCreated {
                topic_id: t,
                name: "t".into(),
                partitions: 4,
                replication_factor: 1,
                configs: vec![],
            },
        ])
        .expect("base");
    let placed =
        |first: i32, count: i32, assignments: Vec<Vec<i32>>| MetadataRecord::PartitionsPlaced {
            topic_id: t,
            first,
            count,
            replication_factor: 1,
            assignments,
            fallback: 1,
        };
    let img = base.apply(&placed(0, 4, vec![])).expect("auto placement");
    let leaders: Vec<i32> = img
        .topic("t")
        .expect("t")
        .partitions
        .iter()
        .map(|p| p.leader)
        .collect();
    // Round-robin over the live brokers [1, 3], starting at the topic id
    // (9) modulo 2.
    assert_eq!(leaders, vec![3, 1, 3, 1], "fenced broker 2 skipped");
    assert!(
        img.apply(&placed(4, 1, vec![vec![2]])).is_err(),
        "only fenced replicas"
    );
    let img = img
        .apply(&placed(4, 1, vec![vec![3]]))
        .expect("manual placement");
    assert_eq!(img.topic("t").expect("t").partitions[4].replicas, vec![3]);
    assert!(
        img.apply(&placed(5, 1, vec![vec![7]])).is_err(),
        "unknown broker"
    );
    assert!(
        img.apply(&placed(9, 1, vec![])).is_err(),
        "gap in partition numbers"
    );
    let rf3 = MetadataRecord::PartitionsPlaced {
        topic_id: t,
        first: 5,
        count: 1,
        replication_factor: 3,
        assignments: vec![],
        fallback: 1,
    };
    assert!(img.apply(&rf3).is_err(), "more replicas than live brokers");
    // No broker registered yet: the fallback node.
    let empty = MetadataImage::default()
        .apply_all(&[MetadataRecord::TopicCreated {
            topic_id: t,
            name: "t".into(),
            partitions: 1,
            replication_factor: 1,
            configs: vec![],
        }])
        .expect("topic");
    let img = empty
        .apply(&MetadataRecord::PartitionsPlaced {
            topic_id: t,
            first: 0,
            count: 1,
            replication_factor: 1,
            assignments: vec![],
            fallback: 5,
        })
        .expect("fallback");
    assert_eq!(img.topic("t").expect("t").partitions[0].leader, 5);
}
