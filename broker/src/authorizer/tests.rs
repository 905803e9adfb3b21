//! Unit tests of the authorizer: every rule of Kafka's StandardAuthorizer,
//! the cache, validation and filters.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use AclOperation::*;
use AclPermissionType::{Allow, Deny};
use PatternType::{Literal, Prefixed};
use ResourceType::{Cluster, Group, Topic, TransactionalId};

const ALICE: &str = "User:alice";
const BOB: &str = "User:bob";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn client() -> IpAddr {
    ip("10.0.0.1")
}

struct Acl {
    binding: AclBinding,
}

fn acl(
    rt: ResourceType,
    name: &str,
    pattern: PatternType,
    principal: &str,
    op: AclOperation,
    perm: AclPermissionType,
) -> Acl {
    Acl {
        binding: AclBinding {
            resource_type: rt,
            resource_name: name.into(),
            pattern_type: pattern,
            principal: principal.into(),
            host: WILDCARD.into(),
            operation: op,
            permission: perm,
        },
    }
}

impl Acl {
    fn host(mut self, host: &str) -> Self {
        self.binding.host = host.into();
        self
    }
}

fn authorizer(acls: Vec<Acl>) -> Authorizer {
    authorizer_with(AuthorizerConfig::default(), acls)
}

fn authorizer_with(config: AuthorizerConfig, acls: Vec<Acl>) -> Authorizer {
    let a = Authorizer::new(config);
    a.set_acls(acls.into_iter().map(|a| a.binding).collect());
    a
}

fn can(a: &Authorizer, principal: &str, op: AclOperation, rt: ResourceType, name: &str) -> bool {
    a.authorize(principal, client(), op, rt, name)
}

#[test]
fn bitfields_without_an_authorizer_match_kafka() {
    assert_eq!(topic_operations().count_ones(), 8);
    assert_eq!(topic_operations(), 0b1101_1111_1000);
    assert_eq!(group_operations(), (1 << 3) | (1 << 6) | (1 << 8));
    assert_eq!(cluster_operations().count_ones(), 7);
    assert_eq!(cluster_operations() & (1 << 9), 1 << 9);
    assert_eq!(if_requested(false, topic_operations), i32::MIN);
}

#[test]
fn codes_and_names_are_kafkas() {
    assert_eq!(ResourceType::from_code(5), TransactionalId);
    assert_eq!(ResourceType::User.code(), 7);
    assert_eq!(ResourceType::from_code(42), ResourceType::Unknown);
    assert_eq!(TransactionalId.to_string(), "TRANSACTIONAL_ID");
    assert_eq!(PatternType::from_code(4), Prefixed);
    assert_eq!(PatternType::Match.code(), 2);
    assert_eq!(AclOperation::from_code(14), DescribeTokens);
    assert_eq!(ClusterAction.name(), "CLUSTER_ACTION");
    assert_eq!(AclOperation::from_name("clusteraction"), ClusterAction);
    assert_eq!(AclOperation::from_name("Describe_Configs"), DescribeConfigs);
    assert_eq!(AclOperation::from_name("nope"), AclOperation::Unknown);
    assert_eq!(AclPermissionType::from_code(2), Deny);
    assert_eq!(Allow.code(), 3);
    for op in AclOperation::ALL_VALUES {
        assert_eq!(AclOperation::from_code(op.code()), *op);
    }
}

#[test]
fn literal_acl_allows_only_its_principal_operation_and_name() {
    let a = authorizer(vec![acl(Topic, "orders", Literal, ALICE, Read, Allow)]);
    assert!(can(&a, ALICE, Read, Topic, "orders"));
    assert!(!can(&a, BOB, Read, Topic, "orders"), "other principal");
    assert!(!can(&a, ALICE, Write, Topic, "orders"), "other operation");
    assert!(
        !can(&a, ALICE, Read, Topic, "orders2"),
        "literal is not a prefix"
    );
    assert!(
        !can(&a, ALICE, Read, Group, "orders"),
        "other resource type"
    );
}

#[test]
fn prefixed_acl_matches_names_it_starts() {
    let a = authorizer(vec![acl(Topic, "fin-", Prefixed, ALICE, Write, Allow)]);
    assert!(can(&a, ALICE, Write, Topic, "fin-payments"));
    assert!(can(&a, ALICE, Write, Topic, "fin-"));
    assert!(!can(&a, ALICE, Write, Topic, "fin"));
    assert!(!can(&a, ALICE, Write, Topic, "xfin-payments"));
}

#[test]
fn wildcard_literal_matches_every_name() {
    let a = authorizer(vec![acl(Group, "*", Literal, ALICE, Read, Allow)]);
    assert!(can(&a, ALICE, Read, Group, "any-group"));
    assert!(can(&a, ALICE, Read, Group, "*"));
    // A PREFIXED "*" is a prefix of names starting with '*', not a wildcard.
    let a = authorizer(vec![acl(Group, "*", Prefixed, ALICE, Read, Allow)]);
    assert!(!can(&a, ALICE, Read, Group, "any-group"));
    assert!(can(&a, ALICE, Read, Group, "*group"));
}

#[test]
fn deny_beats_allow_across_literal_prefixed_and_wildcard() {
    let combos = [
        (Literal, "orders", Prefixed, "ord"),
        (Prefixed, "ord", Literal, "orders"),
        (Literal, "*", Literal, "orders"),
        (Literal, "orders", Literal, "*"),
        (Prefixed, "o", Literal, "*"),
        (Literal, "*", Prefixed, "or"),
        (Prefixed, "ord", Prefixed, "o"),
    ];
    for (allow_pt, allow_name, deny_pt, deny_name) in combos {
        let a = authorizer(vec![
            acl(Topic, allow_name, allow_pt, ALICE, Read, Allow),
            acl(Topic, deny_name, deny_pt, ALICE, Read, Deny),
        ]);
        assert!(
            !can(&a, ALICE, Read, Topic, "orders"),
            "ALLOW {allow_pt} {allow_name} vs DENY {deny_pt} {deny_name}"
        );
        // Without the DENY the ALLOW holds.
        let a = authorizer(vec![acl(Topic, allow_name, allow_pt, ALICE, Read, Allow)]);
        assert!(can(&a, ALICE, Read, Topic, "orders"));
    }
}

#[test]
fn deny_for_everyone_beats_allow_for_one() {
    let a = authorizer(vec![
        acl(Topic, "orders", Literal, ALICE, Read, Allow),
        acl(Topic, "orders", Literal, "User:*", Read, Deny),
    ]);
    assert!(!can(&a, ALICE, Read, Topic, "orders"));
}

#[test]
fn deny_all_denies_every_operation_and_allow_all_allows_every_one() {
    let a = authorizer(vec![
        acl(Topic, "t", Literal, ALICE, All, Allow),
        acl(Topic, "t", Literal, BOB, All, Allow),
        acl(Topic, "t", Literal, BOB, All, Deny),
    ]);
    for op in supported_operations(Topic) {
        assert!(can(&a, ALICE, *op, Topic, "t"), "ALLOW ALL {op}");
        assert!(!can(&a, BOB, *op, Topic, "t"), "DENY ALL {op}");
    }
}

#[test]
fn user_wildcard_principal_matches_everyone_but_other_wildcards_do_not() {
    let a = authorizer(vec![acl(Topic, "t", Literal, "User:*", Read, Allow)]);
    assert!(can(&a, ALICE, Read, Topic, "t"));
    assert!(can(&a, "User:ANONYMOUS", Read, Topic, "t"));
    assert!(
        can(&a, "Group:ops", Read, Topic, "t"),
        "User:* is Kafka's only wildcard principal"
    );
    let a = authorizer(vec![acl(Topic, "t", Literal, "Group:*", Read, Allow)]);
    assert!(!can(&a, "Group:ops", Read, Topic, "t"));
}

#[test]
fn host_specific_acls_match_only_that_address() {
    let a = authorizer(vec![
        acl(Topic, "t", Literal, ALICE, Read, Allow).host("10.0.0.1"),
        acl(Topic, "t", Literal, ALICE, Write, Allow),
        acl(Topic, "t", Literal, ALICE, Write, Deny).host("10.0.0.9"),
    ]);
    assert!(a.authorize(ALICE, ip("10.0.0.1"), Read, Topic, "t"));
    assert!(!a.authorize(ALICE, ip("10.0.0.2"), Read, Topic, "t"));
    assert!(a.authorize(ALICE, ip("10.0.0.1"), Write, Topic, "t"));
    assert!(!a.authorize(ALICE, ip("10.0.0.9"), Write, Topic, "t"));
    // An IPv4 client reaching a dual-stack socket appears IPv4-mapped;
    // Java (so Kafka) sees the IPv4 address.
    let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
    assert!(a.authorize(ALICE, mapped, Read, Topic, "t"));
}

#[test]
fn ipv6_hosts_are_compared_as_java_prints_them() {
    assert_eq!(
        java_host_address(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        "0:0:0:0:0:0:0:1"
    );
    assert_eq!(java_host_address(ip("fe80::ab:1")), "fe80:0:0:0:0:0:ab:1");
    let a = authorizer(vec![
        acl(Topic, "t", Literal, ALICE, Read, Allow).host("0:0:0:0:0:0:0:1"),
        acl(Topic, "t", Literal, BOB, Read, Allow).host("::1"),
    ]);
    assert!(a.authorize(ALICE, ip("::1"), Read, Topic, "t"));
    // Kafka compares strings, and Java never prints "::1".
    assert!(!a.authorize(BOB, ip("::1"), Read, Topic, "t"));
}

#[test]
fn super_users_may_do_anything_even_when_denied() {
    let config = AuthorizerConfig {
        super_users: vec!["User:admin".into()],
        allow_everyone_if_no_acl_found: false,
    };
    let a = authorizer_with(config, vec![acl(Topic, "t", Literal, "User:*", All, Deny)]);
    assert!(can(&a, "User:admin", Write, Topic, "t"));
    assert!(can(&a, "User:admin", ClusterAction, Cluster, CLUSTER_NAME));
    assert!(!can(&a, ALICE, Write, Topic, "t"));
    assert!(
        !can(&a, "User:Admin", Write, Topic, "t"),
        "compared as written"
    );
}

#[test]
fn no_acl_default_applies_only_when_no_acl_names_the_resource() {
    for allow_everyone in [false, true] {
        let config = AuthorizerConfig {
            super_users: Vec::new(),
            allow_everyone_if_no_acl_found: allow_everyone,
        };
        // A binding for another principal, host and operation still names
        // the resource: Kafka's `hasResourceAcls` makes the answer DENY.
        let a = authorizer_with(
            config,
            vec![
                acl(Topic, "guarded", Literal, BOB, Write, Allow).host("10.9.9.9"),
                acl(Topic, "pre-", Prefixed, BOB, Write, Allow),
                acl(Group, "*", Literal, BOB, Read, Allow),
            ],
        );
        assert_eq!(can(&a, ALICE, Read, Topic, "open"), allow_everyone);
        assert!(!can(&a, ALICE, Read, Topic, "guarded"));
        assert!(!can(&a, ALICE, Read, Topic, "pre-x"), "prefixed names it");
        assert!(!can(&a, ALICE, Read, Group, "g"), "wildcard names it");
        assert_eq!(can(&a, ALICE, Read, TransactionalId, "g"), allow_everyone);
    }
}

#[test]
fn allow_implies_describe_and_describe_configs_but_deny_does_not() {
    for op in [Read, Write, Delete, Alter] {
        let a = authorizer(vec![acl(Topic, "t", Literal, ALICE, op, Allow)]);
        assert!(
            can(&a, ALICE, Describe, Topic, "t"),
            "ALLOW {op} implies DESCRIBE"
        );
        assert!(!can(&a, ALICE, DescribeConfigs, Topic, "t"));
    }
    for op in [Create, AlterConfigs, DescribeConfigs] {
        let a = authorizer(vec![acl(Topic, "t", Literal, ALICE, op, Allow)]);
        assert!(
            !can(&a, ALICE, Describe, Topic, "t"),
            "ALLOW {op} does not imply DESCRIBE"
        );
    }
    let a = authorizer(vec![acl(Topic, "t", Literal, ALICE, AlterConfigs, Allow)]);
    assert!(can(&a, ALICE, DescribeConfigs, Topic, "t"));
    // Implication runs one way only.
    let a = authorizer(vec![acl(Topic, "t", Literal, ALICE, Describe, Allow)]);
    assert!(!can(&a, ALICE, Read, Topic, "t"));
    // DENY READ does not deny DESCRIBE allowed elsewhere.
    let a = authorizer(vec![
        acl(Topic, "t", Literal, ALICE, Describe, Allow),
        acl(Topic, "t", Literal, ALICE, Read, Deny),
        acl(Topic, "t", Literal, ALICE, DescribeConfigs, Allow),
        acl(Topic, "t", Literal, ALICE, AlterConfigs, Deny),
    ]);
    assert!(can(&a, ALICE, Describe, Topic, "t"));
    assert!(!can(&a, ALICE, Read, Topic, "t"));
    assert!(can(&a, ALICE, DescribeConfigs, Topic, "t"));
    // DENY DESCRIBE does deny DESCRIBE implied by ALLOW READ.
    let a = authorizer(vec![
        acl(Topic, "t", Literal, ALICE, Read, Allow),
        acl(Topic, "t", Literal, ALICE, Describe, Deny),
    ]);
    assert!(!can(&a, ALICE, Describe, Topic, "t"));
    assert!(can(&a, ALICE, Read, Topic, "t"));
}

#[test]
fn non_concrete_questions_are_refused() {
    let a = authorizer(vec![acl(Topic, "t", Literal, ALICE, All, Allow)]);
    assert!(!can(&a, ALICE, AclOperation::Any, Topic, "t"));
    assert!(!can(&a, ALICE, Read, ResourceType::Any, "t"));
}

#[test]
fn set_acls_invalidates_cached_decisions() {
    let a = authorizer(vec![acl(Topic, "t", Literal, ALICE, Read, Allow)]);
    assert!(can(&a, ALICE, Read, Topic, "t"));
    assert!(can(&a, ALICE, Read, Topic, "t"), "cached");
    assert_eq!(a.cache.len(), 1);
    a.set_acls(vec![acl(Topic, "t", Literal, ALICE, Read, Deny).binding]);
    assert!(!can(&a, ALICE, Read, Topic, "t"));
    a.set_acls(Vec::new());
    assert!(!can(&a, ALICE, Read, Topic, "t"), "default deny");
    a.set_acls(vec![acl(Topic, "t", Literal, ALICE, Read, Allow).binding]);
    assert!(can(&a, ALICE, Read, Topic, "t"));
    assert_eq!(a.acl_count(), 1);
    let read_describe = (1 << Read.code()) | (1 << Describe.code());
    assert_eq!(
        a.authorized_operations(ALICE, client(), Topic, "t"),
        read_describe
    );
    assert_eq!(
        a.authorized_operations(ALICE, client(), Topic, "t"),
        read_describe
    );
    a.set_acls(vec![acl(Topic, "t", Literal, ALICE, Write, Allow).binding]);
    let write_describe = (1 << Write.code()) | (1 << Describe.code());
    assert_eq!(
        a.authorized_operations(ALICE, client(), Topic, "t"),
        write_describe
    );
    assert!(
        !can(&a, ALICE, AclOperation::Any, Topic, "t"),
        "not the bit field's slot"
    );
}

#[test]
fn a_decision_stored_for_an_old_generation_is_not_served() {
    let a = authorizer(vec![acl(Topic, "t", Literal, ALICE, Read, Allow)]);
    let key = cache::Key {
        principal: ALICE,
        host: client(),
        operation: Read,
        resource_type: Topic,
        name: "t",
    };
    let hash = a.cache.hash(&key);
    // A decision computed with an older set, stored after the change.
    a.cache.insert(hash, &key, 0, 0);
    assert!(can(&a, ALICE, Read, Topic, "t"));
}

#[test]
fn the_cache_stays_bounded() {
    let cache = cache::DecisionCache::new(10);
    for n in 0..100 {
        let name = format!("t{n}");
        let key = cache::Key {
            principal: ALICE,
            host: client(),
            operation: Read,
            resource_type: Topic,
            name: &name,
        };
        cache.insert(cache.hash(&key), &key, 1, 1);
        assert!(cache.len() <= 11);
    }
}

#[test]
fn authorized_operations_sets_the_bit_of_each_allowed_supported_operation() {
    let a = authorizer(vec![
        acl(Topic, "t", Literal, ALICE, Read, Allow),
        acl(Topic, "t", Literal, ALICE, AlterConfigs, Allow),
        acl(Topic, "t", Literal, ALICE, Write, Allow),
        acl(Topic, "t", Literal, ALICE, Write, Deny).host("10.0.0.1"),
        acl(Cluster, CLUSTER_NAME, Literal, ALICE, All, Allow),
    ]);
    let bits = a.authorized_operations(ALICE, client(), Topic, "t");
    let expected = (1 << Read.code())
        | (1 << Describe.code())
        | (1 << AlterConfigs.code())
        | (1 << DescribeConfigs.code());
    assert_eq!(bits, expected);
    let cluster = a.authorized_operations(ALICE, client(), Cluster, CLUSTER_NAME);
    assert_eq!(
        cluster,
        cluster_operations(),
        "ALL: every supported operation"
    );
    assert_eq!(cluster & (1 << All.code()), 0, "ALL is never a bit");
    assert_eq!(a.authorized_operations(BOB, client(), Topic, "t"), 0);
    assert_eq!(
        a.authorized_operations(ALICE, client(), ResourceType::Any, "t"),
        0
    );
}

#[test]
fn supported_operations_are_kafka_41s() {
    assert_eq!(supported_operations(Topic).len(), 8);
    assert_eq!(
        supported_operations(Group),
        &[Read, Describe, Delete, DescribeConfigs, AlterConfigs]
    );
    assert_eq!(supported_operations(TransactionalId), &[Describe, Write]);
    assert_eq!(
        supported_operations(ResourceType::DelegationToken),
        &[Describe]
    );
    assert_eq!(
        supported_operations(ResourceType::User),
        &[CreateTokens, DescribeTokens]
    );
}

#[test]
fn config_reads_kafkas_keys() {
    let props: BTreeMap<String, String> = [
        (SUPER_USERS_CONFIG, " User:admin ;;User:CN=broker,O=acme; "),
        (ALLOW_EVERYONE_IF_NO_ACL_FOUND_CONFIG, "TRUE"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let config = AuthorizerConfig::from_props(&props).expect("valid");
    assert_eq!(
        config.super_users,
        vec!["User:admin", "User:CN=broker,O=acme"]
    );
    assert!(config.allow_everyone_if_no_acl_found);
    let config = AuthorizerConfig::from_props(&BTreeMap::new()).expect("defaults");
    assert_eq!(config, AuthorizerConfig::default());
    let bad: BTreeMap<String, String> = [(SUPER_USERS_CONFIG.to_string(), "admin".to_string())]
        .into_iter()
        .collect();
    assert!(AuthorizerConfig::from_props(&bad).is_err());
    let yes: BTreeMap<String, String> = [(
        ALLOW_EVERYONE_IF_NO_ACL_FOUND_CONFIG.to_string(),
        "yes".to_string(),
    )]
    .into_iter()
    .collect();
    assert!(
        !AuthorizerConfig::from_props(&yes)
            .expect("valid")
            .allow_everyone_if_no_acl_found
    );
}

fn invalid(b: AclBinding) -> String {
    match b.validate() {
        Err(BrokerError::InvalidRequest(msg)) => msg,
        other => panic!("expected INVALID_REQUEST, got {other:?}"),
    }
}

#[test]
fn validate_gives_kafkas_create_acls_errors() {
    let good = acl(Topic, "t", Literal, ALICE, Read, Allow).binding;
    assert!(good.validate().is_ok());
    assert!(acl(Cluster, CLUSTER_NAME, Literal, ALICE, Read, Allow)
        .binding
        .validate()
        .is_ok());
    let with = |f: &dyn Fn(&mut AclBinding)| {
        let mut b = good.clone();
        f(&mut b);
        b
    };
    assert_eq!(
        invalid(with(&|b| {
            b.resource_type = Cluster;
            b.resource_name = "my-cluster".into();
        })),
        "The only valid name for the CLUSTER resource is kafka-cluster"
    );
    assert_eq!(
        invalid(with(&|b| b.resource_name.clear())),
        "Invalid empty resource name"
    );
    assert_eq!(
        invalid(with(&|b| b.resource_type = ResourceType::Any)),
        "Invalid resourceType ANY"
    );
    assert_eq!(
        invalid(with(&|b| b.pattern_type = PatternType::Match)),
        "Invalid patternType MATCH"
    );
    assert_eq!(
        invalid(with(&|b| b.pattern_type = PatternType::Any)),
        "Invalid patternType ANY"
    );
    assert_eq!(
        invalid(with(&|b| b.operation = AclOperation::Any)),
        "Invalid operation ANY"
    );
    assert_eq!(
        invalid(with(&|b| b.operation = AclOperation::Unknown)),
        "Invalid operation UNKNOWN"
    );
    assert_eq!(
        invalid(with(&|b| b.permission = AclPermissionType::Any)),
        "Invalid permissionType ANY"
    );
    assert_eq!(
        invalid(with(&|b| b.principal = "alice".into())),
        "Could not parse principal from `alice` (no colon is present separating the \
         principal type from the principal name)"
    );
    // Kafka's broker does not check the operation against the resource type.
    assert!(with(&|b| b.resource_type = Group).validate().is_ok());
    assert!(acl(Cluster, CLUSTER_NAME, Literal, ALICE, Read, Allow)
        .binding
        .validate()
        .is_ok());
}

#[test]
fn filters_match_as_kafkas() {
    let lit = acl(Topic, "orders", Literal, ALICE, Read, Allow).binding;
    let wild = acl(Topic, "*", Literal, ALICE, Read, Allow).binding;
    let pre = acl(Topic, "ord", Prefixed, BOB, Write, Deny).binding;
    let other = acl(Group, "orders", Literal, ALICE, Read, Allow).binding;
    let all = [&lit, &wild, &pre, &other];
    let selected = |f: &AclBindingFilter| all.iter().map(|b| f.matches(b)).collect::<Vec<_>>();

    assert_eq!(selected(&AclBindingFilter::ANY), [true, true, true, true]);
    let topics = AclBindingFilter {
        resource_type: Topic,
        ..AclBindingFilter::ANY
    };
    assert_eq!(selected(&topics), [true, true, true, false]);
    // ANY pattern type with a name: exact name, any pattern type.
    let named = AclBindingFilter {
        resource_name: Some("orders".into()),
        ..topics.clone()
    };
    assert_eq!(selected(&named), [true, false, false, false]);
    // MATCH: every binding that would apply to "orders".
    let matching = AclBindingFilter {
        pattern_type: PatternType::Match,
        ..named.clone()
    };
    assert_eq!(selected(&matching), [true, true, true, false]);
    let matching_other = AclBindingFilter {
        resource_name: Some("payments".into()),
        ..matching.clone()
    };
    assert_eq!(selected(&matching_other), [false, true, false, false]);
    // A specific pattern type selects only that type, name compared as is.
    let literal_star = AclBindingFilter {
        resource_name: Some("*".into()),
        pattern_type: Literal,
        ..topics.clone()
    };
    assert_eq!(selected(&literal_star), [false, true, false, false]);
    let prefixed = AclBindingFilter {
        pattern_type: Prefixed,
        resource_name: Some("orders".into()),
        ..topics.clone()
    };
    assert_eq!(selected(&prefixed), [false, false, false, false]);
    // Entry fields: exact principal (no wildcard semantics), host, op, perm.
    let by_principal = AclBindingFilter {
        principal: Some(ALICE.into()),
        ..AclBindingFilter::ANY
    };
    assert_eq!(selected(&by_principal), [true, true, false, true]);
    let star_principal = AclBindingFilter {
        principal: Some("User:*".into()),
        ..AclBindingFilter::ANY
    };
    assert_eq!(selected(&star_principal), [false, false, false, false]);
    let by_op = AclBindingFilter {
        operation: Write,
        permission: Deny,
        ..AclBindingFilter::ANY
    };
    assert_eq!(selected(&by_op), [false, false, true, false]);
    let by_host = AclBindingFilter {
        host: Some("10.0.0.1".into()),
        ..AclBindingFilter::ANY
    };
    assert_eq!(selected(&by_host), [false, false, false, false]);
}

#[test]
fn filter_validation_is_the_delete_acls_check() {
    assert!(AclBindingFilter::ANY.validate().is_ok());
    let unknown_pattern = AclBindingFilter {
        pattern_type: PatternType::Unknown,
        ..AclBindingFilter::ANY
    };
    assert!(unknown_pattern.is_unknown());
    assert!(matches!(
        unknown_pattern.validate(),
        Err(BrokerError::InvalidRequest(m)) if m == "Unknown patternFilter."
    ));
    let unknown_entry = AclBindingFilter {
        permission: AclPermissionType::Unknown,
        ..AclBindingFilter::ANY
    };
    assert!(matches!(
        unknown_entry.validate(),
        Err(BrokerError::InvalidRequest(m)) if m == "Unknown entryFilter."
    ));
}

#[test]
fn prefixes_of_every_length_are_found_among_many_acls() {
    let mut acls: Vec<Acl> = (0..500)
        .map(|n| acl(Topic, &format!("team{n}-"), Prefixed, ALICE, Read, Allow))
        .collect();
    acls.push(acl(Topic, "t", Prefixed, BOB, Read, Allow));
    acls.push(acl(Topic, "team42-secret", Prefixed, ALICE, Read, Deny));
    acls.push(acl(Topic, "é", Prefixed, BOB, Write, Allow));
    let a = authorizer(acls);
    assert!(can(&a, ALICE, Read, Topic, "team42-logs"));
    assert!(!can(&a, ALICE, Read, Topic, "team42-secret-1"));
    assert!(
        can(&a, BOB, Read, Topic, "team7-x"),
        "the one-byte prefix \"t\""
    );
    assert!(!can(&a, ALICE, Read, Topic, "team500-x"));
    assert!(can(&a, BOB, Write, Topic, "été"));
    assert!(
        !can(&a, BOB, Write, Topic, "€x"),
        "a prefix length inside a character"
    );
}

fn by_type(a: &Authorizer, principal: &str, op: AclOperation) -> bool {
    a.authorize_by_resource_type(principal, client(), op, Topic)
}

#[test]
fn by_resource_type_needs_an_undominated_allow_for_that_exact_operation() {
    // No ACLs at all: the no-ACL default decides (through `hardcode`).
    assert!(!by_type(&authorizer(vec![]), ALICE, Write));
    let open = AuthorizerConfig {
        allow_everyone_if_no_acl_found: true,
        ..AuthorizerConfig::default()
    };
    assert!(by_type(
        &authorizer_with(open.clone(), vec![]),
        ALICE,
        Write
    ));
    // A super user always.
    let supers = AuthorizerConfig {
        super_users: vec![BOB.into()],
        ..AuthorizerConfig::default()
    };
    let deny_all = acl(Topic, "*", Literal, BOB, Write, Deny);
    assert!(by_type(
        &authorizer_with(supers, vec![deny_all]),
        BOB,
        Write
    ));
    // One literal ALLOW on some topic; other principals, operations and
    // resource types do not count, nor does implication.
    let a = authorizer(vec![acl(Topic, "orders", Literal, ALICE, Write, Allow)]);
    assert!(by_type(&a, ALICE, Write));
    assert!(!by_type(&a, BOB, Write));
    assert!(!by_type(&a, ALICE, Read));
    assert!(!by_type(&a, ALICE, Describe));
    let g = authorizer(vec![acl(Group, "g", Literal, ALICE, Write, Allow)]);
    assert!(!by_type(&g, ALICE, Write));
    // ALL and User:* count.
    assert!(by_type(
        &authorizer(vec![acl(Topic, "t", Prefixed, "User:*", All, Allow)]),
        ALICE,
        Write
    ));
    // Host-specific bindings count only from that host.
    let hosted = authorizer(vec![
        acl(Topic, "t", Literal, ALICE, Write, Allow).host("10.0.0.9")
    ]);
    assert!(!by_type(&hosted, ALICE, Write));
    let here = authorizer(vec![
        acl(Topic, "t", Literal, ALICE, Write, Allow).host("10.0.0.1")
    ]);
    assert!(by_type(&here, ALICE, Write));
}

#[test]
fn by_resource_type_denies_only_what_dominates_the_allow() {
    let allow = || acl(Topic, "orders", Literal, ALICE, Write, Allow);
    // Same literal denied: dominated.
    let a = authorizer(vec![
        allow(),
        acl(Topic, "orders", Literal, ALICE, Write, Deny),
    ]);
    assert!(!by_type(&a, ALICE, Write));
    // A prefix of it denied: dominated.
    let a = authorizer(vec![allow(), acl(Topic, "ord", Prefixed, ALICE, All, Deny)]);
    assert!(!by_type(&a, ALICE, Write));
    // A deny elsewhere does not dominate.
    let a = authorizer(vec![
        allow(),
        acl(Topic, "pay", Prefixed, ALICE, Write, Deny),
    ]);
    assert!(by_type(&a, ALICE, Write));
    // A literal deny does not dominate a prefixed allow.
    let a = authorizer(vec![
        acl(Topic, "orders", Prefixed, ALICE, Write, Allow),
        acl(Topic, "orders", Literal, ALICE, Write, Deny),
    ]);
    assert!(by_type(&a, ALICE, Write));
    // A wildcard deny refuses everything, a wildcard allow allows.
    let a = authorizer(vec![
        allow(),
        acl(Topic, "*", Literal, "User:*", Write, Deny),
    ]);
    assert!(!by_type(&a, ALICE, Write));
    let a = authorizer(vec![acl(Topic, "*", Literal, ALICE, Write, Allow)]);
    assert!(by_type(&a, ALICE, Write));
    // Two allows, one dominated: the other still counts.
    let a = authorizer(vec![
        allow(),
        acl(Topic, "x", Literal, ALICE, Write, Allow),
        acl(Topic, "orders", Literal, ALICE, Write, Deny),
    ]);
    assert!(by_type(&a, ALICE, Write));
}
