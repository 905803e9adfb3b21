//! The ACL and SCRAM admin APIs on the wire (CreateAcls, DescribeAcls,
//! DeleteAcls, AlterUserScramCredentials, DescribeUserScramCredentials):
//! Kafka 4.1's answers, validation messages and authorization, and the
//! records surviving a restart (they are metadata records, replayed from
//! the metadata log).

mod common;

use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

const AUTHORIZER: (&str, &str) = (
    "authorizer.class.name",
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
);
const ANONYMOUS_IS_SUPER: (&str, &str) = ("super.users", "User:ANONYMOUS");

// Kafka's codes.
const TOPIC: i8 = 2;
const GROUP: i8 = 3;
const CLUSTER: i8 = 4;
const ANY: i8 = 1;
const MATCH: i8 = 2;
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const READ: i8 = 3;
const WRITE: i8 = 4;
const ALLOW: i8 = 3;

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn creation(
    resource_type: i8,
    name: &str,
    pattern: i8,
    principal: &str,
    operation: i8,
) -> create_acls_request::AclCreation {
    create_acls_request::AclCreation::default()
        .with_resource_type(resource_type)
        .with_resource_name(sb(name))
        .with_resource_pattern_type(pattern)
        .with_principal(sb(principal))
        .with_host(sb("*"))
        .with_operation(operation)
        .with_permission_type(ALLOW)
}

fn create(c: &mut Client, creations: Vec<create_acls_request::AclCreation>) -> Vec<(i16, String)> {
    let resp: CreateAclsResponse = c.call(
        ApiKey::CreateAcls,
        3,
        &CreateAclsRequest::default().with_creations(creations),
    );
    resp.results
        .iter()
        .map(|r| {
            (
                r.error_code,
                r.error_message.as_deref().unwrap_or("<null>").to_string(),
            )
        })
        .collect()
}

fn describe_all(c: &mut Client) -> DescribeAclsResponse {
    describe(c, ANY, None, ANY)
}

fn describe(
    c: &mut Client,
    resource_type: i8,
    name: Option<&str>,
    pattern: i8,
) -> DescribeAclsResponse {
    let req = DescribeAclsRequest::default()
        .with_resource_type_filter(resource_type)
        .with_resource_name_filter(name.map(sb))
        .with_pattern_type_filter(pattern)
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_operation(1)
        .with_permission_type(1);
    c.call(ApiKey::DescribeAcls, 3, &req)
}

/// (type, name, pattern, [(principal, host, operation, permission)]) of a
/// DescribeAcls answer.
type Listed = Vec<(i8, String, i8, Vec<(String, String, i8, i8)>)>;

fn listed(resp: &DescribeAclsResponse) -> Listed {
    assert_eq!(resp.error_code, 0, "{:?}", resp.error_message);
    assert_eq!(resp.error_message, None, "null on success, as Kafka");
    let mut out: Listed = resp
        .resources
        .iter()
        .map(|r| {
            let mut acls: Vec<_> = r
                .acls
                .iter()
                .map(|a| {
                    (
                        a.principal.to_string(),
                        a.host.to_string(),
                        a.operation,
                        a.permission_type,
                    )
                })
                .collect();
            acls.sort();
            (
                r.resource_type,
                r.resource_name.to_string(),
                r.pattern_type,
                acls,
            )
        })
        .collect();
    out.sort();
    out
}

fn delete_filter(
    resource_type: i8,
    name: Option<&str>,
    pattern: i8,
) -> delete_acls_request::DeleteAclsFilter {
    delete_acls_request::DeleteAclsFilter::default()
        .with_resource_type_filter(resource_type)
        .with_resource_name_filter(name.map(sb))
        .with_pattern_type_filter(pattern)
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_operation(1)
        .with_permission_type(1)
}

fn alice(operation: i8) -> (String, String, i8, i8) {
    ("User:alice".into(), "*".into(), operation, ALLOW)
}

#[test]
fn acl_apis_without_an_authorizer_answer_security_disabled() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    let results = create(
        &mut c,
        vec![
            creation(TOPIC, "t", LITERAL, "User:alice", READ),
            creation(TOPIC, "u", LITERAL, "User:alice", READ),
        ],
    );
    assert_eq!(
        results,
        vec![(54, "No Authorizer is configured.".to_string()); 2]
    );
    let d = describe_all(&mut c);
    assert_eq!(d.error_code, 54);
    assert_eq!(
        d.error_message.as_deref(),
        Some("No Authorizer is configured on the broker")
    );
    let del: DeleteAclsResponse = c.call(
        ApiKey::DeleteAcls,
        3,
        &DeleteAclsRequest::default().with_filters(vec![delete_filter(ANY, None, ANY)]),
    );
    assert_eq!(del.filter_results.len(), 1);
    assert_eq!(del.filter_results[0].error_code, 54);
    assert_eq!(
        del.filter_results[0].error_message.as_deref(),
        Some("No Authorizer is configured.")
    );
}

#[test]
fn acls_are_created_listed_deleted_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    {
        let b = TestBroker::start_at(&data, &[AUTHORIZER, ANONYMOUS_IS_SUPER]);
        let mut c = b.connect();
        let results = create(
            &mut c,
            vec![
                creation(TOPIC, "t", LITERAL, "User:alice", READ),
                creation(TOPIC, "pre-", PREFIXED, "User:alice", WRITE),
                creation(GROUP, "g", LITERAL, "User:alice", READ),
                // The same as the first: succeeds, stored once.
                creation(TOPIC, "t", LITERAL, "User:alice", READ),
                creation(CLUSTER, "other", LITERAL, "User:alice", READ),
                creation(TOPIC, "", LITERAL, "User:alice", READ),
                creation(ANY, "t", LITERAL, "User:alice", READ),
                creation(TOPIC, "t", MATCH, "User:alice", READ),
                creation(TOPIC, "t", LITERAL, "User:alice", 1),
                creation(TOPIC, "t", LITERAL, "alice", READ),
                creation(TOPIC, "t", LITERAL, "User:alice", READ).with_permission_type(ANY),
            ],
        );
        let ok = (0, "<null>".to_string());
        let invalid = |m: &str| (42, m.to_string());
        assert_eq!(
            results,
            vec![
                ok.clone(),
                ok.clone(),
                ok.clone(),
                ok.clone(),
                invalid("The only valid name for the CLUSTER resource is kafka-cluster"),
                invalid("Invalid empty resource name"),
                invalid("Invalid resourceType ANY"),
                invalid("Invalid patternType MATCH"),
                invalid("Invalid operation ANY"),
                invalid(
                    "Could not parse principal from `alice` (no colon is present separating \
                     the principal type from the principal name)"
                ),
                invalid("Invalid permissionType ANY"),
            ]
        );
        assert_eq!(listed(&describe_all(&mut c)).len(), 3, "before a restart");
        // A binding that exists already is not stored again.
        assert_eq!(
            create(
                &mut c,
                vec![creation(TOPIC, "t", LITERAL, "User:alice", READ)]
            ),
            vec![ok]
        );
    }
    let b = TestBroker::start_at(&data, &[AUTHORIZER, ANONYMOUS_IS_SUPER]);
    let mut c = b.connect();
    let expected: Listed = vec![
        (TOPIC, "pre-".into(), PREFIXED, vec![alice(WRITE)]),
        (TOPIC, "t".into(), LITERAL, vec![alice(READ)]),
        (GROUP, "g".into(), LITERAL, vec![alice(READ)]),
    ];
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(listed(&describe_all(&mut c)), sorted, "after a restart");
    // MATCH selects what applies to a name: the prefixed binding for "pre-x".
    assert_eq!(
        listed(&describe(&mut c, TOPIC, Some("pre-x"), MATCH)),
        vec![(TOPIC, "pre-".into(), PREFIXED, vec![alice(WRITE)])]
    );
    assert_eq!(
        listed(&describe(&mut c, TOPIC, Some("pre-x"), LITERAL)),
        vec![]
    );

    // Two filters selecting the same binding both list it; it goes once.
    let del: DeleteAclsResponse = c.call(
        ApiKey::DeleteAcls,
        3,
        &DeleteAclsRequest::default().with_filters(vec![
            delete_filter(TOPIC, Some("t"), LITERAL),
            delete_filter(TOPIC, None, ANY).with_operation(READ),
            delete_filter(TOPIC, Some("nothing"), LITERAL),
        ]),
    );
    let names: Vec<Vec<(String, i8, i8)>> = del
        .filter_results
        .iter()
        .map(|f| {
            assert_eq!((f.error_code, &f.error_message), (0, &None));
            f.matching_acls
                .iter()
                .map(|m| {
                    assert_eq!((m.error_code, &m.error_message), (0, &None));
                    assert_eq!(m.resource_type, TOPIC);
                    assert_eq!(m.principal.as_str(), "User:alice");
                    assert_eq!(m.host.as_str(), "*");
                    assert_eq!(m.permission_type, ALLOW);
                    (m.resource_name.to_string(), m.pattern_type, m.operation)
                })
                .collect()
        })
        .collect();
    assert_eq!(
        names,
        vec![
            vec![("t".to_string(), LITERAL, READ)],
            vec![("t".to_string(), LITERAL, READ)],
            vec![]
        ]
    );
    let mut left = vec![
        (TOPIC, "pre-".into(), PREFIXED, vec![alice(WRITE)]),
        (GROUP, "g".into(), LITERAL, vec![alice(READ)]),
    ];
    left.sort();
    assert_eq!(listed(&describe_all(&mut c)), left);
    let del: DeleteAclsResponse = c.call(
        ApiKey::DeleteAcls,
        3,
        &DeleteAclsRequest::default().with_filters(vec![delete_filter(ANY, None, ANY)]),
    );
    assert_eq!(del.filter_results[0].matching_acls.len(), 2);
    assert_eq!(listed(&describe_all(&mut c)), vec![]);
    drop(c);
    drop(b);
    let b = TestBroker::start_at(&data, &[AUTHORIZER, ANONYMOUS_IS_SUPER]);
    let mut c = b.connect();
    assert_eq!(
        listed(&describe_all(&mut c)),
        vec![],
        "deletions survive too"
    );
}

#[test]
fn acl_apis_need_cluster_permissions() {
    let b = TestBroker::start(&[AUTHORIZER]);
    let mut c = b.connect();
    let results = create(
        &mut c,
        vec![
            creation(TOPIC, "t", LITERAL, "User:alice", READ),
            creation(TOPIC, "u", LITERAL, "User:alice", READ),
        ],
    );
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|(code, _)| *code == 31), "{results:?}");
    assert_eq!(describe_all(&mut c).error_code, 31);
    let del: DeleteAclsResponse = c.call(
        ApiKey::DeleteAcls,
        3,
        &DeleteAclsRequest::default().with_filters(vec![delete_filter(ANY, None, ANY)]),
    );
    assert_eq!(del.filter_results[0].error_code, 31);
}

#[test]
fn an_unknown_code_closes_the_connection_as_kafka_fails_the_parse() {
    let b = TestBroker::start(&[AUTHORIZER, ANONYMOUS_IS_SUPER]);
    let mut c = b.connect();
    let id = c.send(ApiKey::DescribeAcls, 3, &{
        DescribeAclsRequest::default()
            .with_resource_type_filter(0)
            .with_pattern_type_filter(ANY)
            .with_operation(1)
            .with_permission_type(1)
    });
    assert!(id > 0);
    assert!(c.is_closed(), "DescribeAcls with an UNKNOWN resource type");
    let mut c = b.connect();
    c.send(
        ApiKey::CreateAcls,
        3,
        &CreateAclsRequest::default()
            .with_creations(vec![creation(TOPIC, "t", LITERAL, "User:a", 99)]),
    );
    assert!(c.is_closed(), "CreateAcls with an undefined operation");
    let mut c = b.connect();
    c.send(
        ApiKey::DeleteAcls,
        3,
        &DeleteAclsRequest::default()
            .with_filters(vec![delete_filter(TOPIC, None, ANY).with_permission_type(0)]),
    );
    assert!(c.is_closed(), "DeleteAcls with an UNKNOWN permission type");
    // Nothing was created, and the broker still answers.
    let mut c = b.connect();
    assert_eq!(listed(&describe_all(&mut c)), vec![]);
}

fn upsert(
    name: &str,
    mechanism: i8,
    iterations: i32,
) -> alter_user_scram_credentials_request::ScramCredentialUpsertion {
    let len = if mechanism == 2 { 64 } else { 32 };
    alter_user_scram_credentials_request::ScramCredentialUpsertion::default()
        .with_name(sb(name))
        .with_mechanism(mechanism)
        .with_iterations(iterations)
        .with_salt(bytes::Bytes::from_static(b"0123456789abcdef"))
        .with_salted_password(bytes::Bytes::from(vec![7u8; len]))
}

fn deletion(
    name: &str,
    mechanism: i8,
) -> alter_user_scram_credentials_request::ScramCredentialDeletion {
    alter_user_scram_credentials_request::ScramCredentialDeletion::default()
        .with_name(sb(name))
        .with_mechanism(mechanism)
}

fn alter_scram(
    c: &mut Client,
    deletions: Vec<alter_user_scram_credentials_request::ScramCredentialDeletion>,
    upsertions: Vec<alter_user_scram_credentials_request::ScramCredentialUpsertion>,
) -> Vec<(String, i16, String)> {
    let resp: AlterUserScramCredentialsResponse = c.call(
        ApiKey::AlterUserScramCredentials,
        0,
        &AlterUserScramCredentialsRequest::default()
            .with_deletions(deletions)
            .with_upsertions(upsertions),
    );
    resp.results
        .iter()
        .map(|r| {
            (
                r.user.to_string(),
                r.error_code,
                r.error_message.as_deref().unwrap_or("<null>").to_string(),
            )
        })
        .collect()
}

/// (user, code, message, [(mechanism, iterations)]).
type Described = Vec<(String, i16, String, Vec<(i8, i32)>)>;

fn describe_scram(c: &mut Client, users: Option<&[&str]>) -> (i16, Described) {
    let req = DescribeUserScramCredentialsRequest::default().with_users(users.map(|us| {
        us.iter()
            .map(|u| describe_user_scram_credentials_request::UserName::default().with_name(sb(u)))
            .collect()
    }));
    let resp: DescribeUserScramCredentialsResponse =
        c.call(ApiKey::DescribeUserScramCredentials, 0, &req);
    let results = resp
        .results
        .iter()
        .map(|r| {
            (
                r.user.to_string(),
                r.error_code,
                r.error_message.as_deref().unwrap_or("<null>").to_string(),
                r.credential_infos
                    .iter()
                    .map(|i| (i.mechanism, i.iterations))
                    .collect(),
            )
        })
        .collect();
    (resp.error_code, results)
}

#[test]
fn scram_credentials_are_validated_stored_described_and_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let b = TestBroker::start_at(&data, &[]);
    let mut c = b.connect();
    let ok = |u: &str| (u.to_string(), 0, "<null>".to_string());
    let err = |u: &str, code: i16, m: &str| (u.to_string(), code, m.to_string());
    let results = alter_scram(
        &mut c,
        vec![deletion("gina", 1), deletion("henry", 1)],
        vec![
            upsert("alice", 1, 8192),
            upsert("", 1, 8192),
            upsert("dave", 1, 100),
            upsert("erin", 2, 20000),
            upsert("frank", 0, 8192),
            upsert("bob", 1, 8192),
            upsert("carol", 2, 4096),
            upsert("bob", 2, 8192),
            // henry's deletion failed first: that error stands.
            upsert("henry", 1, 8192),
        ],
    );
    let missing = "Attempt to delete a user credential that does not exist";
    assert_eq!(
        results,
        vec![
            ok("alice"),
            ok("carol"),
            err("gina", 91, missing),
            err("henry", 91, missing),
            err("", 93, "Username must not be empty"),
            err("dave", 93, "Too few iterations"),
            err("erin", 93, "Too many iterations"),
            err("frank", 33, "Unknown SCRAM mechanism"),
            err(
                "bob",
                92,
                "A user credential cannot be altered twice in the same request"
            ),
        ]
    );
    let found = |u: &str, infos: Vec<(i8, i32)>| (u.to_string(), 0, "<null>".to_string(), infos);
    assert_eq!(
        describe_scram(&mut c, None),
        (
            0,
            vec![
                found("alice", vec![(1, 8192)]),
                found("carol", vec![(2, 4096)])
            ]
        )
    );
    assert_eq!(describe_scram(&mut c, Some(&[])).1.len(), 2, "empty = all");
    assert_eq!(
        describe_scram(&mut c, Some(&["alice", "nobody", "alice"])),
        (
            0,
            vec![
                (
                    "alice".to_string(),
                    92,
                    "Cannot describe SCRAM credentials for the same user twice in a single \
                     request: alice"
                        .to_string(),
                    vec![]
                ),
                (
                    "nobody".to_string(),
                    91,
                    "Attempt to describe a user credential that does not exist: nobody".to_string(),
                    vec![]
                ),
            ]
        )
    );
    // A second mechanism for alice; the wrong mechanism's deletion fails.
    assert_eq!(
        alter_scram(&mut c, vec![], vec![upsert("alice", 2, 4096)]),
        vec![ok("alice")]
    );
    assert_eq!(
        alter_scram(&mut c, vec![deletion("carol", 1)], vec![]),
        vec![err("carol", 91, missing)]
    );
    assert_eq!(
        alter_scram(&mut c, vec![deletion("alice", 1)], vec![]),
        vec![ok("alice")]
    );
    drop(c);
    drop(b);
    let b = TestBroker::start_at(&data, &[]);
    let mut c = b.connect();
    assert_eq!(
        describe_scram(&mut c, None),
        (
            0,
            vec![
                found("alice", vec![(2, 4096)]),
                found("carol", vec![(2, 4096)])
            ]
        ),
        "after a restart"
    );
}

#[test]
fn scram_apis_need_cluster_permissions() {
    let b = TestBroker::start(&[AUTHORIZER]);
    let mut c = b.connect();
    let denied = "Cluster authorization failed.";
    assert_eq!(
        describe_scram(&mut c, Some(&["x", "y"])),
        (
            31,
            vec![
                (String::new(), 31, denied.to_string(), vec![]),
                (String::new(), 31, denied.to_string(), vec![])
            ]
        )
    );
    let results = alter_scram(
        &mut c,
        vec![deletion("zed", 1)],
        vec![upsert("amy", 1, 8192), upsert("zed", 1, 8192)],
    );
    let users: Vec<(&str, i16)> = results.iter().map(|(u, c, _)| (u.as_str(), *c)).collect();
    assert_eq!(users, vec![("amy", 31), ("zed", 31)]);
}

/// `kafka-configs --describe --entity-type users` asks DescribeClientQuotas
/// before it lists SCRAM credentials: no quotas exist here, the filter is
/// checked with Kafka's messages.
#[test]
fn describe_client_quotas_lists_no_quotas_and_checks_the_filter() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    let component = |kind: &str, match_type: i8, name: Option<&str>| {
        describe_client_quotas_request::ComponentData::default()
            .with_entity_type(sb(kind))
            .with_match_type(match_type)
            .with_match(name.map(sb))
    };
    let mut ask = |components| {
        let resp: DescribeClientQuotasResponse = c.call(
            ApiKey::DescribeClientQuotas,
            1,
            &DescribeClientQuotasRequest::default().with_components(components),
        );
        (
            resp.error_code,
            resp.error_message.map(|m| m.to_string()),
            resp.entries.map(|e| e.len()),
        )
    };
    assert_eq!(ask(vec![component("user", 2, None)]), (0, None, Some(0)));
    assert_eq!(
        ask(vec![
            component("user", 0, Some("a")),
            component("user", 2, None)
        ]),
        (
            42,
            Some("Entity type user cannot appear more than once in the filter.".into()),
            None
        )
    );
    assert_eq!(
        ask(vec![component("group", 2, None)]),
        (35, Some("Unsupported entity type group".into()), None)
    );
    assert_eq!(
        ask(vec![component("ip", 2, None), component("user", 1, None)]),
        (
            42,
            Some(
                "Invalid entity filter component combination. IP filter component should not \
                 be used with user or clientId filter component."
                    .into()
            ),
            None
        )
    );
}

/// Kafka's bound on one DeleteAcls request (`MAX_RECORDS_PER_USER_OP`,
/// 10000 removals, counted over all its filters): beyond it every filter
/// fails with INVALID_REQUEST and nothing is removed.
#[test]
fn delete_acls_removes_at_most_ten_thousand_per_request() {
    let b = TestBroker::start(&[AUTHORIZER, ANONYMOUS_IS_SUPER]);
    let mut c = b.connect();
    for (kind, count) in [(TOPIC, 5000), (GROUP, 5001)] {
        let creations = (0..count)
            .map(|i| creation(kind, &format!("r{i}"), LITERAL, "User:alice", READ))
            .collect();
        let results = create(&mut c, creations);
        assert!(results.iter().all(|(code, _)| *code == 0));
    }
    let count =
        |c: &mut Client| -> usize { describe_all(c).resources.iter().map(|r| r.acls.len()).sum() };
    assert_eq!(count(&mut c), 10_001);
    let bound = "Cannot remove more than 10000 acls in a single delete operation.";
    for filters in [
        vec![delete_filter(ANY, None, ANY)],
        vec![
            delete_filter(TOPIC, None, ANY),
            delete_filter(GROUP, None, ANY),
        ],
    ] {
        let n = filters.len();
        let del: DeleteAclsResponse = c.call(
            ApiKey::DeleteAcls,
            3,
            &DeleteAclsRequest::default().with_filters(filters),
        );
        assert_eq!(del.filter_results.len(), n);
        for f in &del.filter_results {
            assert_eq!(f.error_code, 42);
            assert_eq!(f.error_message.as_deref(), Some(bound));
            assert!(f.matching_acls.is_empty());
        }
        assert_eq!(count(&mut c), 10_001, "nothing removed");
    }
    let del: DeleteAclsResponse = c.call(
        ApiKey::DeleteAcls,
        3,
        &DeleteAclsRequest::default().with_filters(vec![delete_filter(GROUP, None, ANY)]),
    );
    assert_eq!(del.filter_results[0].matching_acls.len(), 5001);
    assert_eq!(count(&mut c), 5000);
}
