//! The decision cache: `(principal, host, operation, resource type, name)`
//! → allowed, tagged with the generation of the ACL set that decided it.
//!
//! A look-up hashes the borrowed key once (SipHash with a per-process key,
//! so clients cannot aim collisions), finds the slot for that hash in a
//! sharded map and compares the stored key field by field: no allocation
//! and one shard read lock. Two keys with the same hash share a slot (the
//! later one wins), which costs a recomputation, never a wrong answer. A
//! decision is only returned for the generation it was made in, so one
//! racing with a change of ACLs can be stored late without being served.
//! The map is cleared when it reaches its bound.
//!
//! This module is not the decision: it stores what `authorizer/mod.rs`
//! computed.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use dashmap::DashMap;

use super::acl::{AclOperation, ResourceType};

/// The borrowed key of one decision.
#[derive(Debug, Clone, Copy, Hash)]
pub(super) struct Key<'a> {
    pub principal: &'a str,
    pub host: IpAddr,
    pub operation: AclOperation,
    pub resource_type: ResourceType,
    pub name: &'a str,
}

/// One stored decision with its full key.
#[derive(Debug)]
struct Slot {
    generation: u64,
    principal: Box<str>,
    host: IpAddr,
    operation: AclOperation,
    resource_type: ResourceType,
    name: Box<str>,
    allowed: bool,
}

impl Slot {
    fn is(&self, key: &Key<'_>) -> bool {
        self.operation == key.operation
            && self.resource_type == key.resource_type
            && self.host == key.host
            && *self.name == *key.name
            && *self.principal == *key.principal
    }
}

/// Passes an already computed `u64` hash through (the map's keys are
/// SipHash outputs).
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by a `u64` key; fold anything else.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A bounded map of decisions.
#[derive(Debug)]
pub(super) struct DecisionCache {
    map: DashMap<u64, Slot, BuildHasherDefault<Prehashed>>,
    hasher: RandomState,
    inserted: AtomicUsize,
    capacity: usize,
}

impl DecisionCache {
    /// A cache holding at most about `capacity` decisions.
    pub(super) fn new(capacity: usize) -> Self {
        DecisionCache {
            map: DashMap::with_hasher(BuildHasherDefault::default()),
            hasher: RandomState::new(),
            inserted: AtomicUsize::new(0),
            capacity: capacity.max(1),
        }
    }

    /// The hash a key is stored under.
    pub(super) fn hash(&self, key: &Key<'_>) -> u64 {
        let mut h = self.hasher.build_hasher();
        key.hash(&mut h);
        h.finish()
    }

    /// The decision stored for `key` in `generation`, if any.
    pub(super) fn get(&self, hash: u64, key: &Key<'_>, generation: u64) -> Option<bool> {
        let slot = self.map.get(&hash)?;
        (slot.generation == generation && slot.is(key)).then_some(slot.allowed)
    }

    /// Stores a decision made with the ACLs of `generation`.
    pub(super) fn insert(&self, hash: u64, key: &Key<'_>, generation: u64, allowed: bool) {
        if self.inserted.fetch_add(1, Ordering::Relaxed) >= self.capacity {
            self.clear();
        }
        self.map.insert(
            hash,
            Slot {
                generation,
                principal: key.principal.into(),
                host: key.host,
                operation: key.operation,
                resource_type: key.resource_type,
                name: key.name.into(),
                allowed,
            },
        );
    }

    /// Forgets every decision.
    pub(super) fn clear(&self) {
        self.inserted.store(0, Ordering::Relaxed);
        self.map.clear();
    }

    /// How many decisions are stored (walks every shard: tests only).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }
}
