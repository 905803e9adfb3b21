//! The ACLs indexed for decisions, and the decision itself as Kafka's
//! `StandardAuthorizerData.findAclRule` / `findResult` make it.
//!
//! Per resource type, literal bindings sit in a map by exact name (`*`
//! included, looked up for every name) and prefixed bindings in a map by
//! prefix, with the sorted list of prefix lengths present: the prefixes of
//! a name that can match are probed by length, so a decision costs a few
//! map look-ups whatever the number of bindings.
//!
//! This module is not the cache, the super users nor the no-ACL default
//! (`authorizer/mod.rs` applies them); it never changes after it is built.

use std::collections::HashMap;
use std::net::IpAddr;

use super::acl::{
    AclBinding, AclOperation, AclPermissionType, PatternType, ResourceType, WILDCARD,
    WILDCARD_PRINCIPAL,
};

/// The access-control part of one binding (its resource is the map key).
#[derive(Debug)]
struct Entry {
    principal: Box<str>,
    host: Box<str>,
    operation: AclOperation,
    permission: AclPermissionType,
}

/// The bindings of one resource type.
#[derive(Debug, Default)]
struct TypeIndex {
    /// LITERAL bindings by exact name (`*` = every name).
    literal: HashMap<Box<str>, Vec<Entry>>,
    /// PREFIXED bindings by prefix.
    prefixed: HashMap<Box<str>, Vec<Entry>>,
    /// The distinct byte lengths of the prefixes in `prefixed`, ascending.
    prefix_lengths: Vec<usize>,
}

/// What the bindings say about one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// A DENY matched, or bindings exist for the resource and none allows.
    Denied,
    /// An ALLOW matched and no DENY.
    Allowed,
    /// No binding exists for the resource at all (whatever its principal,
    /// host or operation): the no-ACL default decides.
    NoAcls,
}

/// An immutable set of bindings, indexed.
#[derive(Debug)]
pub(super) struct AclIndex {
    /// Indexed by resource type code (0..=7).
    by_type: Vec<TypeIndex>,
    count: usize,
    /// The generation of this set; cached decisions carry it.
    pub(super) generation: u64,
}

impl AclIndex {
    /// Indexes `acls`; bindings of a pattern type other than LITERAL or
    /// PREFIXED never match and are left out (validation refuses them).
    pub(super) fn new(acls: Vec<AclBinding>, generation: u64) -> Self {
        let mut by_type: Vec<TypeIndex> = ResourceType::ALL_VALUES
            .iter()
            .map(|_| TypeIndex::default())
            .collect();
        let mut count = 0;
        for acl in acls {
            let Some(slot) = by_type.get_mut(acl.resource_type.code() as usize) else {
                continue;
            };
            let map = match acl.pattern_type {
                PatternType::Literal => &mut slot.literal,
                PatternType::Prefixed => {
                    slot.prefix_lengths.push(acl.resource_name.len());
                    &mut slot.prefixed
                }
                _ => continue,
            };
            map.entry(acl.resource_name.into_boxed_str())
                .or_default()
                .push(Entry {
                    principal: acl.principal.into_boxed_str(),
                    host: acl.host.into_boxed_str(),
                    operation: acl.operation,
                    permission: acl.permission,
                });
            count += 1;
        }
        for slot in &mut by_type {
            slot.prefix_lengths.sort_unstable();
            slot.prefix_lengths.dedup();
        }
        AclIndex {
            by_type,
            count,
            generation,
        }
    }

    /// How many bindings take part in decisions.
    pub(super) fn len(&self) -> usize {
        self.count
    }

    /// What the bindings say about `principal` at `host` doing `operation`
    /// on the resource `resource_type`/`name`. `host` is the address as
    /// Kafka prints it ([`java_host_address`]).
    pub(super) fn decide(
        &self,
        principal: &str,
        host: &str,
        operation: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> Verdict {
        let Some(slot) = self.by_type.get(resource_type.code() as usize) else {
            return Verdict::NoAcls;
        };
        let mut fold = Fold::default();
        let action = Action {
            principal,
            host,
            operation,
        };
        // DENY wins wherever it is, so the order of the sections only
        // matters for stopping early.
        fold.section(slot.literal.get(name), &action);
        if name != WILDCARD {
            fold.section(slot.literal.get(WILDCARD), &action);
        }
        for &len in &slot.prefix_lengths {
            if fold.denied || len > name.len() {
                break;
            }
            if let Some(prefix) = name.get(..len) {
                fold.section(slot.prefixed.get(prefix), &action);
            }
        }
        if fold.denied {
            Verdict::Denied
        } else if fold.allowed {
            Verdict::Allowed
        } else if fold.has_resource_acls {
            Verdict::Denied
        } else {
            Verdict::NoAcls
        }
    }
}

impl AclIndex {
    /// The ACL part of Kafka's default `Authorizer.authorizeByResourceType`:
    /// whether some ALLOW binding of `principal` (or `User:*`) at `host` (or
    /// `*`) for exactly `operation` (or ALL; no implication) names a
    /// resource of `resource_type` that no DENY of the same kind dominates.
    /// A LITERAL `*` DENY refuses outright; a LITERAL `*` ALLOW allows; a
    /// LITERAL ALLOW is dominated by a LITERAL DENY of the same name or a
    /// PREFIXED DENY of one of its prefixes; a PREFIXED ALLOW by a PREFIXED
    /// DENY of one of its prefixes (itself included).
    pub(super) fn any_allowed(
        &self,
        principal: &str,
        host: &str,
        operation: AclOperation,
        resource_type: ResourceType,
    ) -> bool {
        let Some(slot) = self.by_type.get(resource_type.code() as usize) else {
            return false;
        };
        let relevant = |e: &Entry| {
            (&*e.host == host || &*e.host == WILDCARD)
                && (&*e.principal == principal || &*e.principal == WILDCARD_PRINCIPAL)
                && (e.operation == operation || e.operation == AclOperation::All)
        };
        fn collect<'m>(
            map: &'m HashMap<Box<str>, Vec<Entry>>,
            permission: AclPermissionType,
            relevant: &dyn Fn(&Entry) -> bool,
        ) -> std::collections::HashSet<&'m str> {
            map.iter()
                .filter(|(_, entries)| {
                    entries
                        .iter()
                        .any(|e| e.permission == permission && relevant(e))
                })
                .map(|(name, _)| &**name)
                .collect()
        }
        let deny_literal = collect(&slot.literal, AclPermissionType::Deny, &relevant);
        if deny_literal.contains(WILDCARD) {
            return false;
        }
        let deny_prefixed = collect(&slot.prefixed, AclPermissionType::Deny, &relevant);
        let allow_literal = collect(&slot.literal, AclPermissionType::Allow, &relevant);
        if allow_literal.contains(WILDCARD) {
            return true;
        }
        let allow_prefixed = collect(&slot.prefixed, AclPermissionType::Allow, &relevant);
        let dominated = |name: &str| {
            name.char_indices()
                .map(|(i, c)| &name[..i + c.len_utf8()])
                .any(|prefix| deny_prefixed.contains(prefix))
        };
        allow_literal
            .iter()
            .any(|name| !deny_literal.contains(name) && !dominated(name))
            || allow_prefixed.iter().any(|name| !dominated(name))
    }
}

/// The action being decided.
struct Action<'a> {
    principal: &'a str,
    host: &'a str,
    operation: AclOperation,
}

/// Kafka's `MatchingRuleBuilder`.
#[derive(Default)]
struct Fold {
    denied: bool,
    allowed: bool,
    /// Some binding names this resource, whether or not it matches the
    /// action.
    has_resource_acls: bool,
}

impl Fold {
    fn section(&mut self, entries: Option<&Vec<Entry>>, action: &Action<'_>) {
        let Some(entries) = entries else {
            return;
        };
        for e in entries {
            if self.denied {
                return;
            }
            self.has_resource_acls = true;
            match applies(e, action) {
                Some(true) => self.allowed = true,
                Some(false) => self.denied = true,
                None => {}
            }
        }
    }
}

/// Kafka's `findResult`: `None` if the entry does not apply to the action,
/// else whether it allows it. Implication (READ, WRITE, DELETE or ALTER
/// imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS) holds for ALLOW
/// only: a DENY of READ does not deny DESCRIBE. ALL matches every
/// operation, for ALLOW and DENY alike.
fn applies(e: &Entry, action: &Action<'_>) -> Option<bool> {
    if &*e.principal != action.principal && &*e.principal != WILDCARD_PRINCIPAL {
        return None;
    }
    if &*e.host != WILDCARD && &*e.host != action.host {
        return None;
    }
    let allow = e.permission == AclPermissionType::Allow;
    if e.operation != AclOperation::All {
        use AclOperation::*;
        let matches = if allow {
            match action.operation {
                Describe => matches!(e.operation, Describe | Read | Write | Delete | Alter),
                DescribeConfigs => matches!(e.operation, DescribeConfigs | AlterConfigs),
                op => op == e.operation,
            }
        } else {
            action.operation == e.operation
        };
        if !matches {
            return None;
        }
    }
    Some(allow)
}

/// A client address as Java's `InetAddress.getHostAddress` prints it, which
/// is what Kafka compares an ACL's host with: IPv4 dotted, an IPv4-mapped
/// IPv6 address as its IPv4 address (Java turns those into `Inet4Address`),
/// other IPv6 addresses as eight lower-case hex groups without leading
/// zeros and without `::` compression (`0:0:0:0:0:0:0:1`, not `::1`).
pub fn java_host_address(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let groups: Vec<String> = v6.segments().iter().map(|g| format!("{g:x}")).collect();
            groups.join(":")
        }
    }
}
