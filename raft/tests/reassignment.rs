//! Partition reassignments in the metadata image, each driven by an
//! explicit record sequence (no quorum, no time): start, completion by the
//! ISR expansion, leader hand-over, replacement, cancellation, validation
//! and snapshots.

use memorystreamer_raft::{MetadataImage, MetadataRecord, PartitionImage};
use uuid::Uuid;

const T: Uuid = Uuid::from_u128(0x77);

fn reg(id: i32) -> MetadataRecord {
    MetadataRecord::BrokerRegistered {
        node_id: id,
        host: "h".into(),
        port: 9000 + id,
        rack: None,
    }
}

fn reassign(target: &[i32]) -> MetadataRecord {
    MetadataRecord::ReassignPartition {
        topic_id: T,
        partition: 0,
        target: target.to_vec(),
    }
}

fn cancel() -> MetadataRecord {
    MetadataRecord::CancelReassignment {
        topic_id: T,
        partition: 0,
    }
}

fn alter(p: &PartitionImage, isr: &[i32]) -> MetadataRecord {
    MetadataRecord::AlterPartition {
        topic_id: T,
        partition: 0,
        leader: p.leader,
        leader_epoch: p.leader_epoch,
        partition_epoch: p.partition_epoch,
        isr: isr.to_vec(),
    }
}

fn apply(img: &MetadataImage, recs: &[MetadataRecord]) -> MetadataImage {
    img.apply_all(recs).expect("records apply")
}

fn part(img: &MetadataImage) -> PartitionImage {
    img.partition("t", 0).expect("partition").clone()
}

/// Brokers 1..=4 and "t" with one partition on `replicas`.
fn cluster(replicas: &[i32]) -> MetadataImage {
    apply(
        &MetadataImage::default(),
        &[
            reg(1),
            reg(2),
            reg(3),
            reg(4),
            MetadataRecord::TopicCreated {
                topic_id: T,
                name: "t".into(),
                partitions: 1,
                replication_factor: replicas.len() as i16,
                configs: vec![],
            },
            MetadataRecord::PartitionsPlaced {
                topic_id: T,
                first: 0,
                count: 1,
                replication_factor: replicas.len() as i16,
                assignments: vec![replicas.to_vec()],
                fallback: 1,
            },
        ],
    )
}

#[test]
fn moving_a_replica_adds_then_completes_when_the_new_one_joins_the_isr() {
    let img = cluster(&[1, 2]);
    let img = apply(&img, &[reassign(&[1, 3])]);
    let p = part(&img);
    assert_eq!(p.replicas, vec![1, 3, 2], "target first, then the removing");
    assert_eq!(p.adding_replicas, vec![3]);
    assert_eq!(p.removing_replicas, vec![2]);
    assert_eq!(p.isr, vec![1, 2], "the new replica starts out of sync");
    assert_eq!((p.leader, p.leader_epoch, p.partition_epoch), (1, 0, 1));

    // The leader adds 3 to the ISR: that completes the reassignment.
    let img = apply(&img, &[alter(&p, &[1, 3, 2])]);
    let p = part(&img);
    assert_eq!(p.replicas, vec![1, 3]);
    assert_eq!(p.isr, vec![1, 3]);
    assert!(p.adding_replicas.is_empty() && p.removing_replicas.is_empty());
    assert_eq!((p.leader, p.leader_epoch, p.partition_epoch), (1, 0, 2));
}

#[test]
fn an_isr_change_without_every_adding_replica_does_not_complete() {
    let img = cluster(&[1]);
    let img = apply(&img, &[reassign(&[1, 2, 3])]);
    let p = part(&img);
    assert_eq!(p.adding_replicas, vec![2, 3]);
    let img = apply(&img, &[alter(&p, &[1, 2])]);
    let p = part(&img);
    assert_eq!(p.replicas, vec![1, 2, 3]);
    assert_eq!(p.isr, vec![1, 2]);
    assert_eq!(p.adding_replicas, vec![2, 3], "still reassigning");
    let img = apply(&img, &[alter(&p, &[1, 2, 3])]);
    let p = part(&img);
    assert_eq!(p.replicas, vec![1, 2, 3], "replication factor 1 -> 3");
    assert_eq!(p.isr, vec![1, 2, 3]);
    assert!(p.adding_replicas.is_empty());
    assert_eq!(p.partition_epoch, 3);
}

#[test]
fn removing_the_leader_hands_leadership_to_the_target_on_completion() {
    let img = cluster(&[1, 2]);
    let img = apply(&img, &[reassign(&[3, 2])]);
    let p = part(&img);
    assert_eq!(p.replicas, vec![3, 2, 1]);
    assert_eq!(p.leader, 1, "the leader keeps leading during the move");
    let img = apply(&img, &[alter(&p, &[3, 2, 1])]);
    let p = part(&img);
    assert_eq!(p.replicas, vec![3, 2]);
    assert_eq!(p.isr, vec![3, 2]);
    assert_eq!(p.leader, 3, "first target replica in the ISR");
    assert_eq!((p.leader_epoch, p.partition_epoch), (1, 2));
}

#[test]
fn a_shrink_only_reassignment_completes_at_once() {
    let img = cluster(&[1, 2, 3]);
    let img = apply(&img, &[reassign(&[2])]);
    let p = part(&img);
    assert_eq!(p.replicas, vec![2]);
    assert_eq!(p.isr, vec![2]);
    assert!(p.adding_replicas.is_empty() && p.removing_replicas.is_empty());
    assert_eq!((p.leader, p.leader_epoch, p.partition_epoch), (2, 1, 1));
    // Reordering only: the replicas change, nobody is added or removed.
    let img = cluster(&[1, 2, 3]);
    let img = apply(&img, &[reassign(&[3, 1, 2])]);
    let p = part(&img);
    assert_eq!(p.replicas, vec![3, 1, 2]);
    assert_eq!(p.isr, vec![3, 1, 2], "the ISR in replica order");
    assert_eq!((p.leader, p.partition_epoch), (1, 1));
}

#[test]
fn invalid_targets_and_same_replicas_are_no_ops() {
    let img = cluster(&[1, 2]);
    for target in [vec![], vec![1, 1], vec![1, 9]] {
        let after = apply(&img, &[reassign(&target)]);
        assert_eq!(part(&after), part(&img), "{target:?}");
    }
    let after = apply(&img, &[reassign(&[1, 2])]);
    assert_eq!(part(&after), part(&img), "already the replicas");
    let unknown = MetadataRecord::ReassignPartition {
        topic_id: T,
        partition: 5,
        target: vec![1],
    };
    assert!(img.apply(&unknown).is_ok(), "a no-op, not an error");
    assert_eq!(
        part(&apply(&img, &[cancel()])),
        part(&img),
        "nothing to cancel"
    );
}

#[test]
fn cancelling_reverts_to_the_original_replicas() {
    let img = cluster(&[1, 2]);
    let img = apply(&img, &[reassign(&[3, 4])]);
    let p = part(&img);
    assert_eq!(p.replicas, vec![3, 4, 1, 2]);
    // 3 catches up, 4 not yet.
    let img = apply(&img, &[alter(&p, &[3, 1, 2])]);
    assert_eq!(part(&img).adding_replicas, vec![3, 4]);
    let img = apply(&img, &[cancel()]);
    let p = part(&img);
    assert_eq!(p.replicas, vec![1, 2]);
    assert_eq!(p.isr, vec![1, 2]);
    assert!(p.adding_replicas.is_empty() && p.removing_replicas.is_empty());
    assert_eq!((p.leader, p.leader_epoch, p.partition_epoch), (1, 0, 3));
}

#[test]
fn a_new_target_replaces_the_ongoing_reassignment() {
    let img = cluster(&[1]);
    let img = apply(&img, &[reassign(&[1, 2])]);
    let img = apply(&img, &[reassign(&[1, 3])]);
    let p = part(&img);
    assert_eq!(p.replicas, vec![1, 3, 2]);
    assert_eq!(p.adding_replicas, vec![3]);
    assert_eq!(p.removing_replicas, vec![2]);
    // A target equal to the current (full) replicas ends it, keeping all.
    let img = apply(&img, &[reassign(&[1, 3, 2])]);
    let p = part(&img);
    assert_eq!(p.replicas, vec![1, 3, 2]);
    assert!(p.adding_replicas.is_empty() && p.removing_replicas.is_empty());
}

#[test]
fn fencing_during_a_move_keeps_the_reassignment() {
    let img = cluster(&[1, 2]);
    let img = apply(&img, &[reassign(&[2, 3])]);
    let img = apply(&img, &[MetadataRecord::BrokerFenced { node_id: 1 }]);
    let p = part(&img);
    assert_eq!(p.leader, 2);
    assert_eq!(p.isr, vec![2]);
    assert_eq!(p.adding_replicas, vec![3]);
    assert_eq!(p.removing_replicas, vec![1]);
    let img = apply(&img, &[alter(&p, &[2, 3])]);
    let p = part(&img);
    assert_eq!(p.replicas, vec![2, 3]);
    assert_eq!((p.leader, p.leader_epoch), (2, 1));
}

#[test]
fn snapshots_keep_an_ongoing_reassignment() {
    let img = cluster(&[1, 2]);
    let img = apply(&img, &[reassign(&[3, 2])]);
    let restored = apply(&MetadataImage::default(), &img.to_records());
    assert_eq!(part(&restored), part(&img));
    assert_eq!(part(&restored).adding_replicas, vec![3]);
    // It completes the same way after the restore.
    let p = part(&restored);
    let done = apply(&restored, &[alter(&p, &[3, 2, 1])]);
    assert_eq!(part(&done).replicas, vec![3, 2]);
    for rec in img.to_records() {
        assert_eq!(MetadataRecord::decode(&rec.encode()).expect("decode"), rec);
    }
}
