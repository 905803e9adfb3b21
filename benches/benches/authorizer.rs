//! Criterion micro-benchmarks of the authorizer: one cached decision (the
//! cost every request pays per resource once warm) and one uncached
//! decision (a cache miss), with 1000 ACLs loaded. Run with
//! `cargo bench --release -p memorystreamer-benches --bench authorizer`.

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{criterion_group, criterion_main, Criterion};
use memorystreamer_broker::authorizer::{
    AclBinding, AclOperation, AclPermissionType, Authorizer, AuthorizerConfig, PatternType,
    ResourceType,
};

/// 1000 ACLs: per team a literal topic ACL, a prefixed one, a group one
/// and a host-specific DENY, plus wildcard ones.
fn acls() -> Vec<AclBinding> {
    let binding = |rt, name: String, pt, principal: String, host: &str, op, perm| AclBinding {
        resource_type: rt,
        resource_name: name,
        pattern_type: pt,
        principal,
        host: host.into(),
        operation: op,
        permission: perm,
    };
    let mut out = Vec::new();
    for n in 0..249 {
        let user = format!("User:user{n}");
        out.push(binding(
            ResourceType::Topic,
            format!("orders-{n}"),
            PatternType::Literal,
            user.clone(),
            "*",
            AclOperation::Write,
            AclPermissionType::Allow,
        ));
        out.push(binding(
            ResourceType::Topic,
            format!("team{n}-"),
            PatternType::Prefixed,
            user.clone(),
            "*",
            AclOperation::Read,
            AclPermissionType::Allow,
        ));
        out.push(binding(
            ResourceType::Group,
            format!("group-{n}"),
            PatternType::Literal,
            user.clone(),
            "*",
            AclOperation::Read,
            AclPermissionType::Allow,
        ));
        out.push(binding(
            ResourceType::Topic,
            format!("team{n}-secret"),
            PatternType::Prefixed,
            user,
            "192.168.0.1",
            AclOperation::All,
            AclPermissionType::Deny,
        ));
    }
    for n in 0..4 {
        out.push(binding(
            ResourceType::Topic,
            "*".into(),
            PatternType::Literal,
            format!("User:admin{n}"),
            "*",
            AclOperation::Describe,
            AclPermissionType::Allow,
        ));
    }
    out
}

fn decisions(c: &mut Criterion) {
    let authorizer = Authorizer::new(AuthorizerConfig::default());
    let acls = acls();
    assert_eq!(acls.len(), 1000);
    authorizer.set_acls(acls);
    let host: IpAddr = "10.1.2.3".parse().expect("address");
    let ask = |cached: bool| {
        let decide = if cached {
            Authorizer::authorize
        } else {
            Authorizer::authorize_uncached
        };
        decide(
            &authorizer,
            black_box("User:user123"),
            black_box(host),
            black_box(AclOperation::Read),
            black_box(ResourceType::Topic),
            black_box("team123-payments"),
        )
    };
    assert!(ask(true) && ask(false));

    let mut g = c.benchmark_group("authorizer");
    g.bench_function("cached_decision_1000_acls", |b| b.iter(|| ask(true)));
    g.bench_function("uncached_decision_1000_acls", |b| b.iter(|| ask(false)));
    g.bench_function("cached_authorized_operations_topic", |b| {
        b.iter(|| {
            authorizer.authorized_operations(
                black_box("User:user123"),
                black_box(host),
                ResourceType::Topic,
                black_box("team123-payments"),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, decisions);
criterion_main!(benches);
