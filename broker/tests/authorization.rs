//! Every request handler asks the authorizer where Kafka 4.1 does: a broker
//! with `authorizer.class.name` set, spoken to over PLAINTEXT (principal
//! `User:ANONYMOUS`). ACLs are created with CreateAcls while ANONYMOUS is a
//! super user; the broker then restarts on the same data without
//! `super.users`, so only those ACLs allow anything.

mod common;

use std::time::{Duration, Instant};

use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;

const AUTHORIZER: (&str, &str) = (
    "authorizer.class.name",
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
);
const ANONYMOUS_IS_SUPER: (&str, &str) = ("super.users", "User:ANONYMOUS");
const ANONYMOUS: &str = "User:ANONYMOUS";

// Kafka's resource types, operations and codes.
const TOPIC: i8 = 2;
const GROUP: i8 = 3;
const TRANSACTIONAL_ID: i8 = 5;
const LITERAL: i8 = 3;
const ALL: i8 = 2;
const READ: i8 = 3;
const WRITE: i8 = 4;
const ALLOW: i8 = 3;

const TOPIC_DENIED: i16 = 29;
const GROUP_DENIED: i16 = 30;
const CLUSTER_DENIED: i16 = 31;
const TXN_DENIED: i16 = 53;

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn allow(resource_type: i8, name: &str, operation: i8) -> create_acls_request::AclCreation {
    create_acls_request::AclCreation::default()
        .with_resource_type(resource_type)
        .with_resource_name(sb(name))
        .with_resource_pattern_type(LITERAL)
        .with_principal(sb(ANONYMOUS))
        .with_host(sb("*"))
        .with_operation(operation)
        .with_permission_type(ALLOW)
}

fn metadata(c: &mut Client, topics: Option<&[&str]>) -> MetadataResponse {
    let req = MetadataRequest::default()
        .with_topics(topics.map(|ts| {
            ts.iter()
                .map(|t| {
                    metadata_request::MetadataRequestTopic::default().with_name(Some(topic_name(t)))
                })
                .collect()
        }))
        .with_allow_auto_topic_creation(false)
        .with_include_topic_authorized_operations(true);
    c.call(ApiKey::Metadata, 12, &req)
}

fn topic_names(r: &MetadataResponse) -> Vec<String> {
    let mut names: Vec<String> = r
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
        .filter(|n| !n.starts_with("__"))
        .collect();
    names.sort();
    names
}

fn commit_req(group: &str, topic: &str) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(GroupId(sb(group)))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(vec![
                    offset_commit_request::OffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(7),
                ]),
        ])
}

/// The first partition code of an OffsetCommit, retried while the group
/// coordinator loads (bounded).
fn commit(c: &mut Client, group: &str, topic: &str) -> i16 {
    retry(|| {
        let r: OffsetCommitResponse = c.call(ApiKey::OffsetCommit, 8, &commit_req(group, topic));
        r.topics[0].partitions[0].error_code
    })
}

/// Runs `f` until it answers something other than a coordinator-loading
/// error (14, 15, 16), for at most 20 s (each try is a round trip).
fn retry(mut f: impl FnMut() -> i16) -> i16 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let code = f();
        if !matches!(code, 14..=16) || Instant::now() > deadline {
            return code;
        }
        std::thread::yield_now();
    }
}

fn init_pid(c: &mut Client, txn: Option<&str>) -> i16 {
    retry(|| {
        let r: InitProducerIdResponse = c.call(
            ApiKey::InitProducerId,
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(txn.map(|t| TransactionalId(sb(t))))
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        );
        r.error_code
    })
}

fn describe_config(c: &mut Client, resource_type: i8, name: &str) -> i16 {
    let req = DescribeConfigsRequest::default().with_resources(vec![
        describe_configs_request::DescribeConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(sb(name))
            .with_configuration_keys(None),
    ]);
    let r: DescribeConfigsResponse = c.call(ApiKey::DescribeConfigs, 4, &req);
    r.results[0].error_code
}

fn produce_code(c: &mut Client, topic: &str) -> i16 {
    produce(c, topic, batch(&["v"], -1, -1, Compression::None)).error_code
}

fn find_group_coordinator(c: &mut Client, group: &str) -> i16 {
    let r: FindCoordinatorResponse = c.call(
        ApiKey::FindCoordinator,
        3,
        &FindCoordinatorRequest::default().with_key(sb(group)),
    );
    r.error_code
}

fn list_groups(c: &mut Client) -> Vec<String> {
    let r: ListGroupsResponse = c.call(ApiKey::ListGroups, 4, &ListGroupsRequest::default());
    let mut g: Vec<String> = r.groups.iter().map(|g| g.group_id.to_string()).collect();
    g.sort();
    g
}

/// Phase one: ANONYMOUS is a super user; topics, offsets and ACLs are
/// made. Returns after the broker stopped.
fn set_up(data: &std::path::Path) {
    let b = TestBroker::start_at(data, &[AUTHORIZER, ANONYMOUS_IS_SUPER]);
    let mut c = b.connect();
    for t in ["open", "secret", "writable"] {
        assert_eq!(create_topic(&mut c, t, 1).topics[0].error_code, 0, "{t}");
    }
    // A super user sees and may do everything.
    let all = metadata(&mut c, None);
    assert_eq!(topic_names(&all), ["open", "secret", "writable"]);
    assert_eq!(all.topics[0].topic_authorized_operations.count_ones(), 8);
    assert_eq!(produce_code(&mut c, "secret"), 0);
    assert_eq!(init_pid(&mut c, None), 0);
    assert_eq!(commit(&mut c, "g-open", "open"), 0);
    assert_eq!(commit(&mut c, "g-secret", "open"), 0);
    assert_eq!(list_groups(&mut c), ["g-open", "g-secret"]);
    let r: CreateAclsResponse = c.call(
        ApiKey::CreateAcls,
        3,
        &CreateAclsRequest::default().with_creations(vec![
            allow(TOPIC, "open", ALL),
            allow(TOPIC, "writable", WRITE),
            allow(GROUP, "g-open", ALL),
            allow(TRANSACTIONAL_ID, "txn-open", WRITE),
            // Only so that the group has ACLs: READ for someone else.
            create_acls_request::AclCreation::default()
                .with_resource_type(GROUP)
                .with_resource_name(sb("g-secret"))
                .with_resource_pattern_type(LITERAL)
                .with_principal(sb("User:bob"))
                .with_host(sb("*"))
                .with_operation(READ)
                .with_permission_type(ALLOW),
        ]),
    );
    assert!(r.results.iter().all(|r| r.error_code == 0), "{r:?}");
}

#[test]
fn handlers_refuse_what_the_acls_do_not_allow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    set_up(&data);
    let b = TestBroker::start_at(&data, &[AUTHORIZER]);
    let mut c = b.connect();

    // Metadata: undescribable topics are left out of the full list; named,
    // they are refused whether they exist or not.
    let all = metadata(&mut c, None);
    assert_eq!(topic_names(&all), ["open", "writable"]);
    let named = metadata(&mut c, Some(&["secret", "missing", "open"]));
    let codes: Vec<i16> = named.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, [TOPIC_DENIED, TOPIC_DENIED, 0]);
    // KIP-430 with the authorizer: ALL on "open" = every topic operation;
    // WRITE on "writable" = WRITE and the DESCRIBE it implies.
    let ops = |name: &str| {
        all.topics
            .iter()
            .find(|t| t.name.as_deref().map(|n| n.as_str()) == Some(name))
            .map(|t| t.topic_authorized_operations)
    };
    assert_eq!(ops("open").map(i32::count_ones), Some(8));
    assert_eq!(ops("writable"), Some((1 << 4) | (1 << 8)));
    let cluster: MetadataResponse = c.call(
        ApiKey::Metadata,
        10,
        &MetadataRequest::default()
            .with_topics(Some(Vec::new()))
            .with_include_cluster_authorized_operations(true),
    );
    assert_eq!(cluster.cluster_authorized_operations, 0);
    let dc: DescribeClusterResponse = c.call(
        ApiKey::DescribeCluster,
        1,
        &DescribeClusterRequest::default().with_include_cluster_authorized_operations(true),
    );
    assert_eq!((dc.error_code, dc.cluster_authorized_operations), (0, 0));

    // Produce: WRITE per topic, refused before existence.
    assert_eq!(produce_code(&mut c, "secret"), TOPIC_DENIED);
    assert_eq!(produce_code(&mut c, "missing"), TOPIC_DENIED);
    assert_eq!(produce_code(&mut c, "writable"), 0);
    // Fetch: READ per topic.
    let fetch = |c: &mut Client, topic: &str| {
        let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req(topic, 0, 0, 1, 1 << 20));
        r.responses[0].partitions[0].error_code
    };
    assert_eq!(fetch(&mut c, "secret"), TOPIC_DENIED);
    assert_eq!(fetch(&mut c, "writable"), TOPIC_DENIED);
    assert_eq!(fetch(&mut c, "open"), 0);

    // InitProducerId: idempotent needs IDEMPOTENT_WRITE or WRITE on some
    // topic (here "writable"); transactional WRITE on the id.
    assert_eq!(init_pid(&mut c, None), 0);
    assert_eq!(init_pid(&mut c, Some("txn-secret")), TXN_DENIED);
    // As a client does: find the coordinator first (which creates the
    // transaction state topic); DESCRIBE on the id is implied by WRITE.
    let find_txn = |c: &mut Client, id: &str| {
        let r: FindCoordinatorResponse = c.call(
            ApiKey::FindCoordinator,
            4,
            &FindCoordinatorRequest::default()
                .with_key_type(1)
                .with_coordinator_keys(vec![sb(id)]),
        );
        r.coordinators[0].error_code
    };
    assert_eq!(find_txn(&mut c, "txn-secret"), TXN_DENIED);
    assert_eq!(find_txn(&mut c, "txn-open"), 0);
    assert_eq!(init_pid(&mut c, Some("txn-open")), 0);

    // Groups.
    assert_eq!(find_group_coordinator(&mut c, "g-secret"), GROUP_DENIED);
    assert_eq!(find_group_coordinator(&mut c, "g-open"), 0);
    let join: JoinGroupResponse = c.call(
        ApiKey::JoinGroup,
        5,
        &JoinGroupRequest::default()
            .with_group_id(GroupId(sb("g-secret")))
            .with_session_timeout_ms(10_000)
            .with_rebalance_timeout_ms(10_000)
            .with_protocol_type(sb("consumer")),
    );
    assert_eq!(join.error_code, GROUP_DENIED);
    assert_eq!(commit(&mut c, "g-secret", "open"), GROUP_DENIED);
    assert_eq!(commit(&mut c, "g-open", "secret"), TOPIC_DENIED);
    assert_eq!(commit(&mut c, "g-open", "open"), 0);
    let fetch_offsets = |c: &mut Client, group: &str, topic: Option<&str>| {
        let r: OffsetFetchResponse = c.call(
            ApiKey::OffsetFetch,
            7,
            &OffsetFetchRequest::default()
                .with_group_id(GroupId(sb(group)))
                .with_topics(topic.map(|t| {
                    vec![offset_fetch_request::OffsetFetchRequestTopic::default()
                        .with_name(topic_name(t))
                        .with_partition_indexes(vec![0])]
                })),
        );
        r
    };
    assert_eq!(
        fetch_offsets(&mut c, "g-secret", None).error_code,
        GROUP_DENIED
    );
    let r = fetch_offsets(&mut c, "g-open", Some("secret"));
    assert_eq!(r.topics[0].partitions[0].error_code, TOPIC_DENIED);
    let r = fetch_offsets(&mut c, "g-open", Some("open"));
    assert_eq!(r.topics[0].partitions[0].committed_offset, 7);
    // ListGroups keeps only describable groups; DescribeGroups refuses the
    // others and reports the authorized operations of the rest.
    assert_eq!(list_groups(&mut c), ["g-open"]);
    let dg: DescribeGroupsResponse = c.call(
        ApiKey::DescribeGroups,
        5,
        &DescribeGroupsRequest::default()
            .with_groups(vec![GroupId(sb("g-secret")), GroupId(sb("g-open"))])
            .with_include_authorized_operations(true),
    );
    assert_eq!(dg.groups[0].error_code, GROUP_DENIED);
    assert_eq!(dg.groups[1].error_code, 0);
    assert_ne!(dg.groups[1].authorized_operations & (1 << READ), 0);

    // Admin APIs.
    let ct = create_topic(&mut c, "new-topic", 1);
    assert_eq!(ct.topics[0].error_code, TOPIC_DENIED);
    assert_eq!(
        ct.topics[0]
            .error_message
            .as_ref()
            .map(|m| m.to_string())
            .as_deref(),
        Some("Authorization failed.")
    );
    let dt: DeleteTopicsResponse = c.call(
        ApiKey::DeleteTopics,
        5,
        &DeleteTopicsRequest::default()
            .with_topic_names(vec![topic_name("secret"), topic_name("writable")]),
    );
    let codes: Vec<i16> = dt.responses.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, [TOPIC_DENIED, TOPIC_DENIED]);
    assert_eq!(describe_config(&mut c, 2, "secret"), TOPIC_DENIED);
    assert_eq!(describe_config(&mut c, 2, "open"), 0);
    assert_eq!(describe_config(&mut c, 4, "1"), CLUSTER_DENIED);
    // The topics are all still there (seen as a super user would).
    drop(c);
    drop(b);
    let b = TestBroker::start_at(&data, &[AUTHORIZER, ANONYMOUS_IS_SUPER]);
    let mut c = b.connect();
    assert_eq!(
        topic_names(&metadata(&mut c, None)),
        ["open", "secret", "writable"]
    );
}

#[test]
fn without_any_acl_everything_is_refused() {
    let b = TestBroker::start(&[AUTHORIZER]);
    let mut c = b.connect();
    assert_eq!(
        create_topic(&mut c, "t", 1).topics[0].error_code,
        TOPIC_DENIED
    );
    assert!(metadata(&mut c, None).topics.is_empty());
    assert_eq!(init_pid(&mut c, None), CLUSTER_DENIED);
    assert_eq!(produce_code(&mut c, "t"), TOPIC_DENIED);
    assert_eq!(find_group_coordinator(&mut c, "g"), GROUP_DENIED);
    assert!(list_groups(&mut c).is_empty());
}

#[test]
fn allow_everyone_if_no_acl_found_allows_resources_without_acls() {
    let b = TestBroker::start(&[AUTHORIZER, ("allow.everyone.if.no.acl.found", "true")]);
    let mut c = b.connect();
    assert_eq!(create_topic(&mut c, "t", 1).topics[0].error_code, 0);
    assert_eq!(produce_code(&mut c, "t"), 0);
    assert_eq!(init_pid(&mut c, None), 0);
    assert_eq!(topic_names(&metadata(&mut c, None)), ["t"]);
}

#[test]
fn without_an_authorizer_nothing_is_refused() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    assert_eq!(create_topic(&mut c, "t", 1).topics[0].error_code, 0);
    assert_eq!(produce_code(&mut c, "t"), 0);
    assert_eq!(init_pid(&mut c, None), 0);
    let all = metadata(&mut c, None);
    assert_eq!(all.topics[0].topic_authorized_operations.count_ones(), 8);
}
