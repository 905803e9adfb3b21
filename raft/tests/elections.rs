//! Leader elections, ISR changes, placement and snapshots of the metadata
//! image, each driven by an explicit record sequence (no quorum, no time).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use memorystreamer_raft::{
    BrokerEndpoint, MetadataImage, MetadataRecord, PartitionImage, NO_LEADER,
};
use uuid::Uuid;

const T: Uuid = Uuid::from_u128(0x51);

fn reg(id: i32) -> MetadataRecord {
    MetadataRecord::BrokerRegistered {
        node_id: id,
        host: "h".into(),
        port: 9000 + id,
        rack: None,
    }
}

fn reg_rack(id: i32, rack: &str) -> MetadataRecord {
    MetadataRecord::BrokerRegistered {
        node_id: id,
        host: "h".into(),
        port: 9000 + id,
        rack: Some(rack.into()),
    }
}

fn listeners(id: i32, names: &[&str]) -> MetadataRecord {
    MetadataRecord::BrokerListeners {
        node_id: id,
        listeners: names
            .iter()
            .zip(1..)
            .map(|(name, i)| BrokerEndpoint {
                listener: (*name).into(),
                host: format!("b{id}-{name}"),
                port: 9000 + id * 10 + i,
            })
            .collect(),
    }
}

fn fence(id: i32) -> MetadataRecord {
    MetadataRecord::BrokerFenced { node_id: id }
}

fn unfence(id: i32) -> MetadataRecord {
    MetadataRecord::BrokerUnfenced { node_id: id }
}

fn created(id: Uuid, name: &str, partitions: i32, rf: i16) -> MetadataRecord {
    MetadataRecord::TopicCreated {
        topic_id: id,
        name: name.into(),
        partitions,
        replication_factor: rf,
        configs: vec![],
    }
}

/// Topic `name` with one partition per replica list.
fn manual(id: Uuid, name: &str, assignments: Vec<Vec<i32>>) -> Vec<MetadataRecord> {
    vec![
        created(
            id,
            name,
            assignments.len() as i32,
            assignments[0].len() as i16,
        ),
        MetadataRecord::PartitionsPlaced {
            topic_id: id,
            first: 0,
            count: assignments.len() as i32,
            replication_factor: assignments[0].len() as i16,
            assignments,
            fallback: 1,
        },
    ]
}

fn auto(id: Uuid, first: i32, count: i32, rf: i16) -> MetadataRecord {
    MetadataRecord::PartitionsPlaced {
        topic_id: id,
        first,
        count,
        replication_factor: rf,
        assignments: vec![],
        fallback: 1,
    }
}

fn alter(leader: i32, leader_epoch: i32, partition_epoch: i32, isr: &[i32]) -> MetadataRecord {
    MetadataRecord::AlterPartition {
        topic_id: T,
        partition: 0,
        leader,
        leader_epoch,
        partition_epoch,
        isr: isr.to_vec(),
    }
}

fn apply(img: &MetadataImage, recs: &[MetadataRecord]) -> MetadataImage {
    img.apply_all(recs).expect("records apply")
}

fn part(img: &MetadataImage, i: i32) -> PartitionImage {
    img.partition("t", i).expect("partition").clone()
}

/// (leader, isr, leader_epoch, partition_epoch) of partition `i` of "t".
fn state(img: &MetadataImage, i: i32) -> (i32, Vec<i32>, i32, i32) {
    let p = part(img, i);
    (p.leader, p.isr, p.leader_epoch, p.partition_epoch)
}

/// Brokers 1..=3 and "t" with one partition on [1, 2, 3].
fn three() -> MetadataImage {
    let mut recs = vec![reg(1), reg(2), reg(3)];
    recs.extend(manual(T, "t", vec![vec![1, 2, 3]]));
    apply(&MetadataImage::default(), &recs)
}

#[test]
fn fencing_moves_leadership_along_the_isr_then_offline() {
    let img = three();
    assert_eq!(state(&img, 0), (1, vec![1, 2, 3], 0, 0));
    let img = apply(&img, &[fence(1)]);
    assert_eq!(state(&img, 0), (2, vec![2, 3], 1, 1), "next ISR replica");
    let img = apply(&img, &[fence(3)]);
    assert_eq!(
        state(&img, 0),
        (2, vec![2], 1, 2),
        "follower leaves the ISR"
    );
    let same = apply(&img, &[fence(3)]);
    assert_eq!(
        state(&same, 0),
        (2, vec![2], 1, 2),
        "fencing twice is a no-op"
    );
    let img = apply(&img, &[fence(2)]);
    assert_eq!(
        state(&img, 0),
        (NO_LEADER, vec![2], 2, 3),
        "the last ISR member stays in the ISR, the partition goes offline"
    );
    let img = apply(&img, &[unfence(1), unfence(3)]);
    assert_eq!(
        state(&img, 0),
        (NO_LEADER, vec![2], 2, 3),
        "no unclean election: replicas outside the ISR never lead"
    );
    let img = apply(&img, &[unfence(2)]);
    assert_eq!(state(&img, 0), (2, vec![2], 3, 4), "back online");
}

#[test]
fn the_new_leader_follows_replica_order() {
    let mut recs = vec![reg(1), reg(2), reg(3)];
    recs.extend(manual(T, "t", vec![vec![1, 3, 2]]));
    let img = apply(&MetadataImage::default(), &recs);
    let img = apply(&img, &[fence(1)]);
    assert_eq!(state(&img, 0), (3, vec![3, 2], 1, 1));
}

#[test]
fn a_leader_outside_its_isr_is_replaced_too() {
    // Cannot arise from elections; restored as-is by `PartitionCreated`.
    let img = apply(
        &MetadataImage::default(),
        &[
            reg(1),
            reg(2),
            reg(3),
            created(T, "t", 1, 3),
            MetadataRecord::PartitionCreated {
                topic_id: T,
                partition: 0,
                leader: 1,
                leader_epoch: 5,
                partition_epoch: 9,
                replicas: vec![1, 2, 3],
                isr: vec![2, 3],
            },
            fence(1),
        ],
    );
    assert_eq!(state(&img, 0), (2, vec![2, 3], 6, 10));
}

#[test]
fn untouched_topics_stay_shared() {
    let mut recs = vec![reg(1), reg(2), reg(3)];
    recs.extend(manual(T, "t", vec![vec![1, 2]]));
    recs.extend(manual(Uuid::from_u128(0x52), "u", vec![vec![2, 3]]));
    let img = apply(&MetadataImage::default(), &recs);
    let next = apply(&img, &[fence(1)]);
    let (before, after) = (img.topic("u").expect("u"), next.topic("u").expect("u"));
    assert!(Arc::ptr_eq(before, after), "u has no replica on 1");
    assert_eq!(state(&next, 0), (2, vec![2], 1, 1));
    assert_eq!(state(&img, 0), (1, vec![1, 2], 0, 0), "old image unchanged");
}

#[test]
fn a_restart_moves_leadership_and_bumps_the_epoch() {
    // One replica: it keeps leading, in a new leader epoch.
    let mut recs = vec![reg(1), reg(2), reg(3)];
    recs.extend(manual(T, "t", vec![vec![1]]));
    let img = apply(&MetadataImage::default(), &recs);
    let img = apply(&img, &[reg(1)]);
    assert_eq!(state(&img, 0), (1, vec![1], 1, 1));
    let img = apply(&img, &[reg(1)]);
    assert_eq!(state(&img, 0), (1, vec![1], 2, 2), "every restart");
    // Fenced, then back by registering: offline, then leads again.
    let img = apply(&img, &[fence(1)]);
    assert_eq!(state(&img, 0), (NO_LEADER, vec![1], 3, 3));
    let img = apply(&img, &[reg(1)]);
    assert_eq!(state(&img, 0), (1, vec![1], 4, 4));

    // Three replicas: leadership moves on, the restarted broker leaves the
    // ISR (it rejoins through its leader's AlterPartition).
    let img = apply(&three(), &[reg_rack(1, "r1")]);
    assert_eq!(state(&img, 0), (2, vec![2, 3], 1, 1));
    let b = img.broker(1).expect("broker 1");
    assert_eq!((b.rack.as_deref(), b.fenced), (Some("r1"), false));
}

#[test]
fn alter_partition_applies_only_when_current() {
    let img = three();
    let shrunk = apply(&img, &[alter(1, 0, 0, &[1, 3])]);
    assert_eq!(state(&shrunk, 0), (1, vec![1, 3], 0, 1));
    let stale = [
        (alter(1, 0, 0, &[1]), "old partition epoch"),
        (alter(1, 1, 1, &[1]), "wrong leader epoch"),
        (alter(2, 0, 1, &[2]), "not the leader"),
        (alter(1, 0, 1, &[3]), "without the leader"),
        (alter(1, 0, 1, &[]), "empty"),
        (alter(1, 0, 1, &[1, 1]), "duplicates"),
        (alter(1, 0, 1, &[1, 4]), "not a replica"),
    ];
    let with4 = apply(&shrunk, &[reg(4)]);
    for (rec, why) in &stale {
        let after = with4.apply(rec).expect("a stale request is not an error");
        assert_eq!(part(&after, 0), part(&with4, 0), "{why}");
    }
    let gone = MetadataRecord::AlterPartition {
        topic_id: Uuid::from_u128(0x99),
        partition: 0,
        leader: 1,
        leader_epoch: 0,
        partition_epoch: 0,
        isr: vec![1],
    };
    assert!(with4.apply(&gone).is_ok(), "unknown topic: no-op");
    let out_of_range = MetadataRecord::AlterPartition {
        topic_id: T,
        partition: 7,
        leader: 1,
        leader_epoch: 0,
        partition_epoch: 1,
        isr: vec![1],
    };
    assert!(
        with4.apply(&out_of_range).is_ok(),
        "unknown partition: no-op"
    );
    // A fenced broker cannot join; once unfenced it can (ISR kept in
    // replica order).
    let img = apply(&shrunk, &[fence(2), alter(1, 0, 1, &[1, 2, 3])]);
    assert_eq!(state(&img, 0), (1, vec![1, 3], 0, 1), "fenced joiner");
    let img = apply(&img, &[unfence(2), alter(1, 0, 1, &[3, 2, 1])]);
    assert_eq!(state(&img, 0), (1, vec![1, 2, 3], 0, 2));
    assert!(!img.alter_partition_valid(&T, 0, 1, 0, 1, &[1]));
    assert!(img.alter_partition_valid(&T, 0, 1, 0, 2, &[1]));
}

#[test]
fn preferred_leader_election() {
    let elect = MetadataRecord::ElectPreferredLeader {
        topic_id: T,
        partition: 0,
    };
    let img = apply(&three(), &[fence(1)]);
    assert_eq!(state(&img, 0), (2, vec![2, 3], 1, 1));
    let img = apply(&img, std::slice::from_ref(&elect));
    assert_eq!(state(&img, 0), (2, vec![2, 3], 1, 1), "fenced, not in ISR");
    let img = apply(&img, &[unfence(1), elect.clone()]);
    assert_eq!(state(&img, 0), (2, vec![2, 3], 1, 1), "not in the ISR");
    let img = apply(&img, &[alter(2, 1, 1, &[1, 2, 3]), elect.clone()]);
    assert_eq!(state(&img, 0), (1, vec![1, 2, 3], 2, 3), "preferred leads");
    let img = apply(&img, &[elect]);
    assert_eq!(state(&img, 0), (1, vec![1, 2, 3], 2, 3), "already leads");
}

/// Partitions of "t" as replica lists.
fn replicas(img: &MetadataImage) -> Vec<Vec<i32>> {
    img.topic("t")
        .expect("t")
        .partitions
        .iter()
        .map(|p| p.replicas.clone())
        .collect()
}

#[test]
fn placement_spreads_leaders_and_followers() {
    let brokers: Vec<_> = (1..=6).map(reg).collect();
    let base = apply(&MetadataImage::default(), &brokers);
    let img = apply(&base, &[created(T, "t", 12, 3), auto(T, 0, 12, 3)]);
    let mut leads = BTreeMap::new();
    let mut holds = BTreeMap::new();
    for p in &img.topic("t").expect("t").partitions {
        assert_eq!(p.replicas.iter().collect::<BTreeSet<_>>().len(), 3);
        assert_eq!((p.leader, &p.isr), (p.replicas[0], &p.replicas));
        assert_eq!((p.leader_epoch, p.partition_epoch), (0, 0));
        *leads.entry(p.leader).or_insert(0) += 1;
        for r in &p.replicas {
            *holds.entry(*r).or_insert(0) += 1;
        }
    }
    assert_eq!(leads, (1..=6).map(|b| (b, 2)).collect(), "leaders spread");
    assert_eq!(holds, (1..=6).map(|b| (b, 6)).collect(), "replicas spread");
    assert_eq!(
        img.partitions_led_by(1).count(),
        2,
        "partitions_led_by agrees"
    );
    assert_eq!(img.partitions_replicated_by(1).count(), 6);

    // Deterministic: the same records give the same placement, also when
    // the partitions are added in two steps.
    let again = apply(&base, &[created(T, "t", 12, 3), auto(T, 0, 12, 3)]);
    assert_eq!(replicas(&again), replicas(&img));
    let split = apply(
        &base,
        &[created(T, "t", 5, 3), auto(T, 0, 5, 3), auto(T, 5, 7, 3)],
    );
    assert_eq!(replicas(&split), replicas(&img));
    // The start comes from the topic id: another id, another first leader.
    let firsts: BTreeSet<i32> = (0..6u128)
        .map(|i| {
            let id = Uuid::from_u128(0x100 + i);
            let img = apply(&base, &[created(id, "t", 1, 3), auto(id, 0, 1, 3)]);
            part(&img, 0).leader
        })
        .collect();
    assert_eq!(firsts.len(), 6, "topics start on different brokers");
    assert!(
        base.apply_all(&[created(T, "t", 1, 7), auto(T, 0, 1, 7)])
            .is_err(),
        "more replicas than live brokers"
    );
}

#[test]
fn placement_puts_replicas_on_distinct_racks() {
    let brokers = [
        reg_rack(1, "a"),
        reg_rack(2, "a"),
        reg_rack(3, "b"),
        reg_rack(4, "b"),
        reg_rack(5, "c"),
        reg_rack(6, "c"),
    ];
    let rack = |b: i32| (b + 1) / 2;
    let base = apply(&MetadataImage::default(), &brokers);
    for rf in [2i16, 3] {
        let img = apply(&base, &[created(T, "t", 12, rf), auto(T, 0, 12, rf)]);
        let mut leads = BTreeMap::new();
        for r in replicas(&img) {
            let racks: BTreeSet<i32> = r.iter().map(|b| rack(*b)).collect();
            assert_eq!(racks.len(), rf as usize, "{r:?} on distinct racks");
            *leads.entry(r[0]).or_insert(0) += 1;
        }
        assert_eq!(leads, (1..=6).map(|b| (b, 2)).collect(), "rf {rf}");
    }
    // More replicas than racks: every rack first, then any broker.
    let base = apply(
        &MetadataImage::default(),
        &[reg_rack(1, "a"), reg_rack(2, "a"), reg_rack(3, "b"), reg(4)],
    );
    let img = apply(&base, &[created(T, "t", 8, 3), auto(T, 0, 8, 3)]);
    for r in replicas(&img) {
        let racks: BTreeSet<&str> = r
            .iter()
            .map(|b| match b {
                1 | 2 => "a",
                3 => "b",
                _ => "",
            })
            .collect();
        assert_eq!(racks.len(), 3, "{r:?}: a, b and no rack");
        assert_eq!(r.iter().collect::<BTreeSet<_>>().len(), 3);
    }
}

#[test]
fn manual_placement_leaves_fenced_replicas_out_of_the_isr() {
    let mut recs = vec![reg(1), reg(2), reg(3), fence(2)];
    recs.extend(manual(T, "t", vec![vec![2, 1, 3]]));
    let img = apply(&MetadataImage::default(), &recs);
    let p = part(&img, 0);
    assert_eq!(
        (p.leader, p.isr, p.replicas),
        (1, vec![1, 3], vec![2, 1, 3])
    );
}

/// Everything the image exposes, for comparing two images.
fn everything(img: &MetadataImage) -> String {
    format!(
        "{:?} {:?} {:?}",
        img.topics().collect::<Vec<_>>(),
        img.brokers().collect::<Vec<_>>(),
        img.to_records()
    )
}

#[test]
fn snapshots_reproduce_the_image() {
    let mut recs = vec![
        reg_rack(1, "a"),
        listeners(1, &["PLAINTEXT", "SASL_SSL"]),
        reg_rack(2, "b"),
        reg(3),
        listeners(3, &["INTERNAL"]),
        MetadataRecord::ClusterIdSet {
            cluster_id: "c1".into(),
        },
    ];
    recs.extend(manual(T, "t", vec![vec![1, 2, 3], vec![3, 1, 2]]));
    recs.extend([
        fence(1),
        alter(2, 1, 1, &[2]),
        MetadataRecord::AlterPartition {
            topic_id: T,
            partition: 1,
            leader: 3,
            leader_epoch: 0,
            partition_epoch: 1,
            isr: vec![3],
        },
        fence(3),
        MetadataRecord::ProducerIdsAllocated {
            next_producer_id: 4000,
        },
        MetadataRecord::BrokerConfigChanged {
            resource: String::new(),
            configs: vec![("log.retention.ms".into(), "5".into())],
        },
    ]);
    let img = apply(&MetadataImage::default(), &recs);
    assert_eq!(state(&img, 0), (2, vec![2], 1, 2));
    assert_eq!(state(&img, 1), (NO_LEADER, vec![3], 1, 3));
    // Through JSON, as `snapshot.json` stores it.
    let json = serde_json::to_string(&img.to_records()).expect("json");
    let back: Vec<MetadataRecord> = serde_json::from_str(&json).expect("parse");
    let restored = apply(&MetadataImage::default(), &back);
    assert_eq!(everything(&restored), everything(&img));
    // And through the binary encoding.
    let decoded: Vec<MetadataRecord> = img
        .to_records()
        .iter()
        .map(|r| MetadataRecord::decode(&r.encode()).expect("decode"))
        .collect();
    let restored = apply(&MetadataImage::default(), &decoded);
    assert_eq!(everything(&restored), everything(&img));
    // The restored image keeps electing: broker 3 back, partition 1 online.
    let next = apply(&restored, &[unfence(3)]);
    assert_eq!(state(&next, 1), (3, vec![3], 2, 4));
}

#[test]
fn brokers_are_reached_on_the_listener_asked_for() {
    let img = apply(
        &MetadataImage::default(),
        &[reg(1), listeners(1, &["PLAINTEXT", "SASL_SSL"]), reg(2)],
    );
    let b1 = img.broker(1).expect("broker 1");
    assert_eq!(b1.endpoint("SASL_SSL"), Some(("b1-SASL_SSL", 9012)));
    assert_eq!(b1.endpoint("PLAINTEXT"), Some(("b1-PLAINTEXT", 9011)));
    assert_eq!(b1.endpoint("OTHER"), None);
    // Registered without listeners: its address serves every listener.
    let b2 = img.broker(2).expect("broker 2");
    assert_eq!(b2.endpoint("SASL_SSL"), Some(("h", 9002)));
    // A new incarnation's registration replaces the old listener list.
    let img = apply(&img, &[reg(1), listeners(1, &["SSL"])]);
    let b1 = img.broker(1).expect("broker 1");
    assert_eq!(b1.endpoint("SASL_SSL"), None);
    assert_eq!(b1.endpoint("SSL"), Some(("b1-SSL", 9011)));
    // Listeners of a broker that never registered are refused.
    assert!(img.apply(&listeners(9, &["SSL"])).is_err());
}

#[test]
fn an_old_snapshot_still_loads() {
    // `snapshot.json` records as written before racks and partition epochs.
    let json = format!(
        r#"[{{"TopicCreated":{{"topic_id":"{T}","name":"t","partitions":1,"replication_factor":1,"configs":[]}}}},
            {{"PartitionCreated":{{"topic_id":"{T}","partition":0,"leader":1,"leader_epoch":3,"replicas":[1],"isr":[1]}}}},
            {{"BrokerRegistered":{{"node_id":1,"host":"h","port":9092}}}}]"#
    );
    let recs: Vec<MetadataRecord> = serde_json::from_str(&json).expect("old json");
    let img = apply(&MetadataImage::default(), &recs);
    assert_eq!(state(&img, 0), (1, vec![1], 3, 0));
    assert_eq!(img.broker(1).and_then(|b| b.rack.clone()), None);
}
