//! What a principal may do, as Kafka's `StandardAuthorizer` answers it.
//!
//! [`Authorizer`] holds the ACLs the metadata image carries (the broker
//! replaces the whole set with [`Authorizer::set_acls`] whenever the image
//! changes) and answers [`Authorizer::authorize`] and the KIP-430 bit field
//! [`Authorizer::authorized_operations`] with Kafka's rules:
//!
//! 1. a super user (`super.users`, compared as written, `User:alice`) may
//!    do anything;
//! 2. the bindings that apply to a resource are the LITERAL ones on its
//!    exact name, the LITERAL `*` one and every PREFIXED one whose prefix
//!    starts the name; of these, the ones that match the action are those
//!    naming the principal or `User:*`, the client's address or `*`, and
//!    the operation or ALL (an ALLOW of READ, WRITE, DELETE or ALTER also
//!    allows DESCRIBE, an ALLOW of ALTER_CONFIGS also DESCRIBE_CONFIGS; a
//!    DENY implies nothing beyond its own operation, except DENY ALL);
//! 3. any matching DENY refuses; otherwise any matching ALLOW allows;
//! 4. otherwise, if no binding applies to the resource at all (whatever
//!    its principal, host, operation or permission),
//!    `allow.everyone.if.no.acl.found` decides; if some do, refused.
//!
//! Decisions are cached per (principal, host, operation, resource); the
//! cache is invalidated by generation on `set_acls`.
//!
//! This module is not where requests are checked (each handler asks it),
//! not the ACL store (ACLs are metadata records; CreateAcls, DescribeAcls
//! and DeleteAcls change and read the image, using [`AclBinding::validate`]
//! and [`AclBindingFilter::matches`]), and not authentication (the
//! principal comes from the connection's session). The free functions at
//! the end answer KIP-430 fields for a broker that has no authorizer
//! configured (every supported operation, as Kafka without
//! `authorizer.class.name`).

mod acl;
mod cache;
mod index;

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use arc_swap::ArcSwap;

pub use acl::{
    supported_operations, AclBinding, AclBindingFilter, AclOperation, AclPermissionType,
    PatternType, ResourceType, CLUSTER_NAME, WILDCARD, WILDCARD_PRINCIPAL,
};
pub use index::java_host_address;

use crate::error::BrokerError;
use cache::{DecisionCache, Key};
use index::{AclIndex, Verdict};

/// Kafka's key listing the super users, `;`-separated.
pub const SUPER_USERS_CONFIG: &str = "super.users";

/// Kafka's key for the decision when no ACL applies to a resource.
pub const ALLOW_EVERYONE_IF_NO_ACL_FOUND_CONFIG: &str = "allow.everyone.if.no.acl.found";

/// How many decisions the cache keeps before it starts over.
const CACHE_CAPACITY: usize = 100_000;

/// The authorizer's static settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizerConfig {
    /// Principals allowed everything, as written (`User:admin`).
    pub super_users: Vec<String>,
    /// The decision when no ACL applies to a resource (Kafka's default:
    /// false, refuse).
    pub allow_everyone_if_no_acl_found: bool,
}

impl AuthorizerConfig {
    /// Reads Kafka's keys from broker properties as Kafka's
    /// `StandardAuthorizer.configure` does: `super.users` split on `;`,
    /// each trimmed, empty ones skipped, each one needing a `Type:name`
    /// form; `allow.everyone.if.no.acl.found` true only for `true` in any
    /// case (Java's `Boolean.parseBoolean`).
    pub fn from_props(props: &BTreeMap<String, String>) -> Result<Self, BrokerError> {
        let mut super_users = Vec::new();
        if let Some(value) = props.get(SUPER_USERS_CONFIG) {
            for user in value.split(';').map(str::trim).filter(|u| !u.is_empty()) {
                if !user.contains(':') {
                    return Err(BrokerError::Config(format!(
                        "{SUPER_USERS_CONFIG}: expected a string in format \
                         principalType:principalName but got {user}"
                    )));
                }
                super_users.push(user.to_string());
            }
        }
        let allow_everyone_if_no_acl_found = props
            .get(ALLOW_EVERYONE_IF_NO_ACL_FOUND_CONFIG)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        Ok(AuthorizerConfig {
            super_users,
            allow_everyone_if_no_acl_found,
        })
    }
}

/// Kafka's `StandardAuthorizer` over an in-memory ACL set, with a decision
/// cache. Shared by every connection (`&self` everywhere).
#[derive(Debug)]
pub struct Authorizer {
    super_users: HashSet<String>,
    allow_if_no_acls: bool,
    acls: ArcSwap<AclIndex>,
    /// The generation of the set in `acls`, published after it.
    generation: AtomicU64,
    /// Serializes `set_acls` so that generations only grow.
    writer: Mutex<()>,
    cache: DecisionCache,
}

/// The cache key of an action, or None for an `Any`/`Unknown` operation or
/// resource type (never authorized).
fn action_key<'a>(
    principal: &'a str,
    host: IpAddr,
    operation: AclOperation,
    resource_type: ResourceType,
    name: &'a str,
) -> Option<Key<'a>> {
    (operation.is_concrete() && resource_type.is_concrete()).then(|| Key {
        principal,
        host: host.to_canonical(),
        operation,
        resource_type,
        name,
    })
}

impl Authorizer {
    /// An authorizer with no ACLs.
    pub fn new(config: AuthorizerConfig) -> Self {
        Authorizer {
            super_users: config.super_users.into_iter().collect(),
            allow_if_no_acls: config.allow_everyone_if_no_acl_found,
            acls: ArcSwap::from_pointee(AclIndex::new(Vec::new(), 0)),
            generation: AtomicU64::new(0),
            writer: Mutex::new(()),
            cache: DecisionCache::new(CACHE_CAPACITY),
        }
    }

    /// Replaces the whole ACL set; decisions made before no longer count.
    /// Bindings that [`AclBinding::validate`] would refuse are kept but
    /// only those of LITERAL and PREFIXED pattern take part.
    pub fn set_acls(&self, acls: Vec<AclBinding>) {
        // A poisoned lock only means another writer panicked; the state it
        // guards is the generation, which stays consistent.
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let generation = self.generation.load(Ordering::Acquire) + 1;
        self.acls
            .store(std::sync::Arc::new(AclIndex::new(acls, generation)));
        self.generation.store(generation, Ordering::Release);
        self.cache.clear();
    }

    /// Whether `principal` is in `super.users` (allowed everything).
    pub fn is_super_user(&self, principal: &str) -> bool {
        self.super_users.contains(principal)
    }

    /// How many ACLs take part in decisions.
    pub fn acl_count(&self) -> usize {
        self.acls.load().len()
    }

    /// Whether `principal` (`User:alice`) connected from `host` may do
    /// `operation` on the resource `resource_type` named `name` (a literal
    /// name, as Kafka's `Action` always is). `Any`/`Unknown` operations or
    /// resource types are refused.
    pub fn authorize(
        &self,
        principal: &str,
        host: IpAddr,
        operation: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        let Some(key) = action_key(principal, host, operation, resource_type, name) else {
            return false;
        };
        self.cached(&key, |acls| i32::from(self.decide(acls, &key))) != 0
    }

    /// The cached value for `key`, or `compute` with the current ACLs
    /// (then cached under their generation).
    fn cached(&self, key: &Key<'_>, compute: impl FnOnce(&AclIndex) -> i32) -> i32 {
        let hash = self.cache.hash(key);
        let generation = self.generation.load(Ordering::Acquire);
        if let Some(value) = self.cache.get(hash, key, generation) {
            return value;
        }
        let acls = self.acls.load();
        let value = compute(&acls);
        self.cache.insert(hash, key, acls.generation, value);
        value
    }

    /// [`Authorizer::authorize`] without the cache: neither read nor
    /// filled (what a cache miss costs, for benchmarks and diagnostics).
    pub fn authorize_uncached(
        &self,
        principal: &str,
        host: IpAddr,
        operation: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        let Some(key) = action_key(principal, host, operation, resource_type, name) else {
            return false;
        };
        self.decide(&self.acls.load(), &key)
    }

    /// The uncached decision.
    fn decide(&self, acls: &AclIndex, key: &Key<'_>) -> bool {
        if self.super_users.contains(key.principal) {
            return true;
        }
        let host = java_host_address(key.host);
        match acls.decide(
            key.principal,
            &host,
            key.operation,
            key.resource_type,
            key.name,
        ) {
            Verdict::Allowed => true,
            Verdict::Denied => false,
            Verdict::NoAcls => self.allow_if_no_acls,
        }
    }

    /// Kafka's default `Authorizer.authorizeByResourceType` (which its
    /// `StandardAuthorizer` keeps): whether `principal` at `host` may do
    /// `operation` on at least one resource of `resource_type`. True when
    /// it may on a resource named `hardcode` (so super users, and the no-ACL
    /// default when no binding applies to such a name), else when some ALLOW
    /// binding for exactly that operation (or ALL) is not dominated by a
    /// DENY (see `AclIndex::any_allowed`). InitProducerId without a
    /// transactional id asks it for WRITE on TOPIC (KIP-679). Not cached.
    pub fn authorize_by_resource_type(
        &self,
        principal: &str,
        host: IpAddr,
        operation: AclOperation,
        resource_type: ResourceType,
    ) -> bool {
        if self.authorize(principal, host, operation, resource_type, "hardcode") {
            return true;
        }
        if !(operation.is_concrete() && resource_type.is_concrete()) {
            return false;
        }
        self.acls.load().any_allowed(
            principal,
            &java_host_address(host),
            operation,
            resource_type,
        )
    }

    /// The KIP-430 field for a resource: bit `n` is set when operation code
    /// `n` is authorized, over the operations the resource type supports
    /// ([`supported_operations`]), as Kafka's `AuthHelper.authorizedOperations`.
    pub fn authorized_operations(
        &self,
        principal: &str,
        host: IpAddr,
        resource_type: ResourceType,
        name: &str,
    ) -> i32 {
        if !resource_type.is_concrete() {
            return 0;
        }
        // Cached as one value, under the operation ANY.
        let key = Key {
            principal,
            host: host.to_canonical(),
            operation: AclOperation::Any,
            resource_type,
            name,
        };
        self.cached(&key, |acls| {
            supported_operations(resource_type)
                .iter()
                .filter(|op| {
                    self.decide(
                        acls,
                        &Key {
                            operation: **op,
                            ..key
                        },
                    )
                })
                .fold(0, |acc, op| acc | (1 << op.code()))
        })
    }
}

/// The value Kafka sends when authorized operations were not requested.
pub const NOT_REQUESTED: i32 = i32::MIN;

fn bits(ops: &[AclOperation]) -> i32 {
    ops.iter().fold(0, |acc, op| acc | (1 << op.code()))
}

/// Without an authorizer: the operations on a topic (READ, WRITE, CREATE,
/// DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS).
pub fn topic_operations() -> i32 {
    bits(supported_operations(ResourceType::Topic))
}

/// Without an authorizer: the operations on a consumer group (READ,
/// DESCRIBE, DELETE). Kafka 4.1's `AclEntry.supportedOperations` also lists
/// DESCRIBE_CONFIGS and ALTER_CONFIGS for groups (group configs, KIP-848),
/// which [`supported_operations`] follows; this field has not moved yet.
pub fn group_operations() -> i32 {
    use AclOperation::*;
    bits(&[Read, Describe, Delete])
}

/// Without an authorizer: the operations on the cluster (CREATE,
/// CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE,
/// ALTER, DESCRIBE).
pub fn cluster_operations() -> i32 {
    bits(supported_operations(ResourceType::Cluster))
}

/// `ops` when the client asked for authorized operations, else
/// [`NOT_REQUESTED`].
pub fn if_requested(requested: bool, ops: fn() -> i32) -> i32 {
    if requested {
        ops()
    } else {
        NOT_REQUESTED
    }
}

#[cfg(test)]
mod tests;
