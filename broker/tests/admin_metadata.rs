//! Admin and metadata answers real clients depend on (issue 12, items 1, 2,
//! 5 and 10): DescribeTopicPartitions sends eligible-leader-replica lists
//! (null crashed the Java Admin client), both internal topics are marked
//! internal and protected, authorized operations are returned when asked
//! for (KIP-430), and partition requests beyond what a broker can open are
//! refused before anything is committed.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

const TOPIC_OPS: i32 = 0b1101_1111_1000; // READ..DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS: 8 operations
const GROUP_OPS: i32 = (1 << 3) | (1 << 6) | (1 << 8); // READ, DELETE, DESCRIBE
const CLUSTER_OPS: i32 =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

fn metadata(c: &mut Client, topics: Option<&[&str]>, ops: bool) -> MetadataResponse {
    let req = MetadataRequest::default()
        .with_topics(topics.map(|ts| {
            ts.iter()
                .map(|t| {
                    metadata_request::MetadataRequestTopic::default().with_name(Some(topic_name(t)))
                })
                .collect()
        }))
        .with_allow_auto_topic_creation(false)
        .with_include_topic_authorized_operations(ops);
    c.call(ApiKey::Metadata, 12, &req)
}

#[test]
fn describe_topic_partitions_sends_lists_and_topic_operations() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    assert_eq!(create_topic(&mut c, "described", 2).topics[0].error_code, 0);
    let req = DescribeTopicPartitionsRequest::default()
        .with_topics(vec![
            describe_topic_partitions_request::TopicRequest::default()
                .with_name(topic_name("described")),
        ])
        .with_response_partition_limit(100);
    let resp: DescribeTopicPartitionsResponse = c.call(ApiKey::DescribeTopicPartitions, 0, &req);
    let t = &resp.topics[0];
    assert_eq!(t.error_code, 0);
    assert_eq!(t.partitions.len(), 2);
    for p in &t.partitions {
        assert_eq!(
            p.eligible_leader_replicas,
            Some(vec![]),
            "null ELR crashes Java's describeTopics()"
        );
        assert_eq!(p.last_known_elr, Some(vec![]));
    }
    assert_eq!(t.topic_authorized_operations, TOPIC_OPS);
    assert!(!t.is_internal);
}

#[test]
fn internal_topics_are_marked_and_protected() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    // Using a group and a transactional id creates both internal topics.
    for (key_type, key) in [(0i8, "g"), (1, "txn")] {
        let req = FindCoordinatorRequest::default()
            .with_key_type(key_type)
            .with_coordinator_keys(vec![sb(key)]);
        let resp: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, 4, &req);
        assert_eq!(resp.coordinators[0].error_code, 0, "coordinator for {key}");
    }
    let md = metadata(&mut c, None, false);
    for internal in ["__consumer_offsets", "__transaction_state"] {
        let t = md
            .topics
            .iter()
            .find(|t| t.name.as_deref().map(|n| n.as_str()) == Some(internal))
            .unwrap_or_else(|| panic!("{internal} listed"));
        assert!(t.is_internal, "{internal} is internal");
        // Not deletable, not resizable, not writable by clients.
        let req = DeleteTopicsRequest::default().with_topic_names(vec![topic_name(internal)]);
        let resp: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, 4, &req);
        assert_ne!(resp.responses[0].error_code, 0, "{internal} deleted");
        let req = CreatePartitionsRequest::default()
            .with_topics(vec![
                create_partitions_request::CreatePartitionsTopic::default()
                    .with_name(topic_name(internal))
                    .with_count(200),
            ])
            .with_timeout_ms(5000);
        let resp: CreatePartitionsResponse = c.call(ApiKey::CreatePartitions, 3, &req);
        assert_ne!(resp.results[0].error_code, 0, "{internal} resized");
        let p = produce(
            &mut c,
            internal,
            batch(&["x"], -1, -1, kafka_protocol::records::Compression::None),
        );
        assert_eq!(p.error_code, 17, "client write to {internal}");
    }
    let md = metadata(&mut c, Some(&["__transaction_state"]), false);
    assert_eq!(md.topics[0].error_code, 0, "__transaction_state survived");
}

#[test]
fn authorized_operations_are_every_supported_operation_when_asked_for() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    assert_eq!(create_topic(&mut c, "ops", 1).topics[0].error_code, 0);
    let md = metadata(&mut c, Some(&["ops"]), true);
    assert_eq!(md.topics[0].topic_authorized_operations, TOPIC_OPS);
    let md = metadata(&mut c, Some(&["ops"]), false);
    assert_eq!(
        md.topics[0].topic_authorized_operations,
        i32::MIN,
        "not asked for"
    );

    let req = DescribeClusterRequest::default().with_include_cluster_authorized_operations(true);
    let resp: DescribeClusterResponse = c.call(ApiKey::DescribeCluster, 1, &req);
    assert_eq!(resp.cluster_authorized_operations, CLUSTER_OPS);
    assert_eq!(resp.cluster_authorized_operations.count_ones(), 7);

    // A group with committed offsets (a simple consumer group) exists.
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(sb("ops-group")))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(topic_name("ops"))
                .with_partitions(vec![
                    offset_commit_request::OffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(0),
                ]),
        ]);
    let resp: OffsetCommitResponse = c.call(ApiKey::OffsetCommit, 8, &req);
    assert_eq!(resp.topics[0].partitions[0].error_code, 0);
    for (asked, expected) in [(true, GROUP_OPS), (false, i32::MIN)] {
        let req = DescribeGroupsRequest::default()
            .with_groups(vec![GroupId(sb("ops-group"))])
            .with_include_authorized_operations(asked);
        let resp: DescribeGroupsResponse = c.call(ApiKey::DescribeGroups, 5, &req);
        assert_eq!(resp.groups[0].error_code, 0);
        assert_eq!(resp.groups[0].authorized_operations, expected);
    }
}

#[test]
fn excessive_partition_requests_are_refused_before_commit() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    let resp = create_topic(&mut c, "huge", 10_001);
    assert_eq!(resp.topics[0].error_code, 44, "POLICY_VIOLATION");
    assert_eq!(
        metadata(&mut c, Some(&["huge"]), false).topics[0].error_code,
        3
    );
    assert_eq!(create_topic(&mut c, "grows", 1).topics[0].error_code, 0);
    let req = CreatePartitionsRequest::default()
        .with_topics(vec![
            create_partitions_request::CreatePartitionsTopic::default()
                .with_name(topic_name("grows"))
                .with_count(16_389)
                .with_assignments(None),
        ])
        .with_timeout_ms(5000);
    let resp: CreatePartitionsResponse = c.call(ApiKey::CreatePartitions, 3, &req);
    assert_eq!(resp.results[0].error_code, 44);
    let md = metadata(&mut c, Some(&["grows"]), false);
    assert_eq!(md.topics[0].partitions.len(), 1);
}

/// A child broker process, killed when dropped (also when a test fails).
struct Limited(Child);

impl Drop for Limited {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The broker binary under `ulimit -n limit`, on `data`, listening on `port`.
fn spawn_limited(limit: u32, data: &std::path::Path, port: u16) -> Limited {
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_memorystreamer"))
        .args(["--data-dir"])
        .arg(data)
        .args([
            "--listeners",
            &format!("PLAINTEXT://127.0.0.1:{port}"),
            "--metrics-addr",
            "off",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn broker");
    Limited(child)
}

fn wait_listening(child: &mut Limited, port: u16) -> Client {
    let child = &mut child.0;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Client::connect_to(port);
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("broker exited ({status}): {err}");
        }
        assert!(Instant::now() < deadline, "broker did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn partitions_beyond_the_open_file_limit_are_refused_and_the_broker_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let port = free_port();
    let mut child = spawn_limited(1024, &data, port);
    let mut c = wait_listening(&mut child, port);
    // 1024 descriptors leave room for about 256 partitions; 400 would
    // need 1200 files and could never be opened again.
    let resp = create_topic(&mut c, "too-many", 400);
    assert_eq!(
        resp.topics[0].error_code, 44,
        "{:?}",
        resp.topics[0].error_message
    );
    assert_eq!(create_topic(&mut c, "fits", 100).topics[0].error_code, 0);
    let req = CreatePartitionsRequest::default()
        .with_topics(vec![
            create_partitions_request::CreatePartitionsTopic::default()
                .with_name(topic_name("fits"))
                .with_count(400)
                .with_assignments(None),
        ])
        .with_timeout_ms(5000);
    let resp: CreatePartitionsResponse = c.call(ApiKey::CreatePartitions, 3, &req);
    assert_eq!(
        resp.results[0].error_code, 44,
        "{:?}",
        resp.results[0].error_message
    );
    drop(child);
    // It starts again with the same limit and serves what was committed.
    let mut child = spawn_limited(1024, &data, port);
    let mut c = wait_listening(&mut child, port);
    let md = metadata(&mut c, Some(&["fits", "too-many"]), false);
    assert_eq!(md.topics[0].partitions.len(), 100);
    assert_eq!(md.topics[1].error_code, 3);
    drop(child);
}
