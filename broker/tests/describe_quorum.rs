//! DescribeQuorum (key 55) on a single node over the wire: every version the
//! broker advertises describes the one-voter quorum as Kafka's admin client
//! expects it (`__cluster_metadata` partition 0, this node leading, the high
//! watermark following committed metadata changes, the leader's own times
//! set, v2 endpoints), and a request for any other partition is answered
//! UNKNOWN_TOPIC_OR_PARTITION. The three-node view (followers' log ends and
//! times, forwarding from a non-leader) is judged by Kafka's own
//! `kafka-metadata-quorum` in `compat-tests/tests/kafka_tools.rs`.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

fn request(topic: &str, partition: i32) -> DescribeQuorumRequest {
    DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
        .with_topic_name(topic_name(topic))
        .with_partitions(vec![
            PartitionData::default().with_partition_index(partition)
        ])])
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

#[test]
fn describe_quorum_of_one_voter() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    // v3 needs a valid client software name and version (KIP-511).
    let versions: ApiVersionsResponse = c.call(
        ApiKey::ApiVersions,
        3,
        &ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("describe-quorum"))
            .with_client_software_version(StrBytes::from_static_str("1")),
    );
    let range = versions
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::DescribeQuorum as i16)
        .expect("DescribeQuorum advertised");
    assert_eq!((range.min_version, range.max_version), (0, 2));

    let mut last_hw = 0;
    for version in 0..=2 {
        let before = now_ms();
        let r: DescribeQuorumResponse = c.call(
            ApiKey::DescribeQuorum,
            version,
            &request("__cluster_metadata", 0),
        );
        assert_eq!(r.error_code, 0, "v{version}: {r:?}");
        assert_eq!(r.topics.len(), 1, "v{version}");
        assert_eq!(r.topics[0].topic_name.0.as_str(), "__cluster_metadata");
        assert_eq!(r.topics[0].partitions.len(), 1);
        let p = &r.topics[0].partitions[0];
        assert_eq!((p.partition_index, p.error_code), (0, 0), "v{version}");
        assert_eq!(p.leader_id, BrokerId(1), "v{version}");
        assert!(p.leader_epoch >= 1, "v{version}: epoch {}", p.leader_epoch);
        // The cluster id and the broker registration are committed entries.
        assert!(p.high_watermark >= 2, "v{version}: {p:?}");
        assert!(p.high_watermark >= last_hw, "high watermark went back");
        last_hw = p.high_watermark;
        assert_eq!(p.current_voters.len(), 1, "v{version}");
        let v = &p.current_voters[0];
        assert_eq!(v.replica_id, BrokerId(1));
        assert_eq!(
            v.log_end_offset, p.high_watermark,
            "one voter: all committed"
        );
        if version >= 1 {
            assert!(v.last_fetch_timestamp >= before, "v{version}: {v:?}");
            assert!(v.last_caught_up_timestamp >= before, "v{version}: {v:?}");
        }
        assert!(p.observers.is_empty());
        if version >= 2 {
            assert!(
                v.replica_directory_id.is_nil(),
                "static voters: zero directory id"
            );
            assert_eq!(r.nodes.len(), 1, "{r:?}");
            assert_eq!(r.nodes[0].node_id, BrokerId(1));
            let l = &r.nodes[0].listeners;
            assert_eq!(l.len(), 1, "{r:?}");
            assert_eq!(l[0].name.as_str(), "CONTROLLER");
            assert_eq!(l[0].host.as_str(), "127.0.0.1");
            assert_ne!(
                l[0].port, 0,
                "the bound controller port, not the configured :0"
            );
        } else {
            assert!(r.nodes.is_empty(), "v{version} has no nodes");
        }
    }

    // A metadata change moves the high watermark.
    create_topic(&mut c, "dq", 1);
    let r: DescribeQuorumResponse =
        c.call(ApiKey::DescribeQuorum, 2, &request("__cluster_metadata", 0));
    let hw = r.topics[0].partitions[0].high_watermark;
    assert!(hw > last_hw, "CreateTopics committed: {hw} > {last_hw}");

    for (topic, partition) in [("__cluster_metadata", 1), ("dq", 0)] {
        let r: DescribeQuorumResponse =
            c.call(ApiKey::DescribeQuorum, 2, &request(topic, partition));
        assert_eq!(r.error_code, 0);
        let p = &r.topics[0].partitions[0];
        assert_eq!(r.topics[0].topic_name.0.as_str(), topic);
        assert_eq!(p.partition_index, partition);
        assert_eq!(
            p.error_code,
            kafka_protocol::ResponseError::UnknownTopicOrPartition.code(),
            "{topic}-{partition}"
        );
    }
}
