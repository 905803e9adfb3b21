//! What a data directory keeps across a broker restart: topics, data,
//! the cluster id, and a pre-quorum metadata log imported once.
//!
//! Not a restart test that mainly asserts on one API's state (those stay
//! with that API: configs, CreatePartitions, consumer offsets).

use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;

use crate::common::*;
use crate::support::{config_value, describe_topic};

#[test]
fn restart_keeps_topics_data_and_cluster_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d").display().to_string();
    let cluster_id;
    {
        let b = TestBroker::start(&[("log.dirs", &data)]);
        let mut c = b.connect();
        create_topic(&mut c, "keep", 2);
        produce(
            &mut c,
            "keep",
            batch(&["x", "y"], -1, -1, Compression::None),
        );
        let r: DescribeClusterResponse = c.call(
            ApiKey::DescribeCluster,
            1,
            &DescribeClusterRequest::default(),
        );
        cluster_id = r.cluster_id.to_string();
        assert_eq!(r.brokers.len(), 1);
    }
    let b = TestBroker::start(&[("log.dirs", &data)]);
    let mut c = b.connect();
    let r: DescribeClusterResponse = c.call(
        ApiKey::DescribeCluster,
        1,
        &DescribeClusterRequest::default(),
    );
    assert_eq!(r.cluster_id.to_string(), cluster_id);
    let r: MetadataResponse = c.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(None),
    );
    let keep = r
        .topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.as_str()) == Some("keep"))
        .expect("topic survives");
    assert_eq!(keep.partitions.len(), 2);
    let ok = produce(&mut c, "keep", batch(&["z"], -1, -1, Compression::None));
    assert_eq!(ok.base_offset, 2, "offsets continue after restart");
}

/// A data directory from before the quorum (single-voter `metadata.log`)
/// is imported once into the Raft log and keeps its topics.
#[test]
fn pre_quorum_metadata_is_imported_once() {
    use memorystreamer_raft::{MetadataLog, MetadataRecord};
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    let meta = data.join("__cluster_metadata-0");
    let id = uuid::Uuid::new_v4();
    {
        let (mut log, _) = MetadataLog::open(&meta.join("metadata.log")).expect("legacy log");
        log.append(&[
            MetadataRecord::TopicCreated {
                topic_id: id,
                name: "legacy".into(),
                partitions: 1,
                replication_factor: 1,
                configs: vec![("retention.ms".into(), "1234".into())],
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
        ])
        .expect("append");
    }
    let data_s = data.display().to_string();
    for _ in 0..2 {
        let b = TestBroker::start(&[("log.dirs", &data_s)]);
        let mut c = b.connect();
        let r = describe_topic(&mut c, "legacy", Some(vec!["retention.ms"]));
        assert_eq!(config_value(&r, "retention.ms"), Some(("1234".into(), 1)));
        assert_eq!(
            produce(&mut c, "legacy", batch(&["a"], -1, -1, Compression::None)).error_code,
            0
        );
    }
    assert!(!meta.join("metadata.log").exists());
    assert!(meta.join("metadata.log.imported").exists());
    assert!(meta.join("raft.log").exists());
}
