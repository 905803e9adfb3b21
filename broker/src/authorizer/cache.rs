//! The decision cache: `(principal, host, operation, resource type, name)`
//! → allowed, tagged with the generation of the ACL set that decided it.
//!
//! A look-up hashes the borrowed key once (a multiply-rotate hash over
//! 8-byte words, seeded per process), finds the slot for that hash in a
//! sharded map and compares the stored key field by field: no allocation
//! and one shard read lock. Two keys with the same hash share a slot (the
//! later one wins), which costs a recomputation, never a wrong answer. A
//! decision is only returned for the generation it was made in, so one
//! racing with a change of ACLs can be stored late without being served.
//! The map is cleared when it reaches its bound. Collisions a client
//! could aim at (it picks topic names) cost only recomputations.
//!
//! This module is not the decision: it stores what `authorizer/mod.rs`
//! computed.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use dashmap::DashMap;

use super::acl::{AclOperation, ResourceType};

/// The borrowed key of one decision. `operation` is `Any` for a KIP-430
/// bit field (every supported operation at once).
#[derive(Debug, Clone, Copy)]
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
    value: i32,
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
/// [`DecisionCache::hash`] outputs).
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

/// A fast word-at-a-time hash (FxHash's step) with a final mix.
struct WordHash(u64);

const SEED_MULTIPLIER: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl WordHash {
    fn word(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(SEED_MULTIPLIER);
    }

    fn bytes(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.word(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        // The length keeps ("ab", "c") apart from ("a", "bc").
        self.word(u64::from_le_bytes(w) ^ ((bytes.len() as u64) << 56));
    }

    fn finish(self) -> u64 {
        // Spread the high bits down (the map takes its shard from the top
        // bits and its bucket from the low ones).
        let h = self.0;
        (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (h >> 32)
    }
}

/// A bounded map of decisions.
#[derive(Debug)]
pub(super) struct DecisionCache {
    map: DashMap<u64, Slot, BuildHasherDefault<Prehashed>>,
    seed: u64,
    inserted: AtomicUsize,
    capacity: usize,
}

impl DecisionCache {
    /// A cache holding at most about `capacity` decisions.
    pub(super) fn new(capacity: usize) -> Self {
        DecisionCache {
            map: DashMap::with_hasher(BuildHasherDefault::default()),
            seed: RandomState::new().hash_one(0x5eed_u64),
            inserted: AtomicUsize::new(0),
            capacity: capacity.max(1),
        }
    }

    /// The hash a key is stored under.
    pub(super) fn hash(&self, key: &Key<'_>) -> u64 {
        let mut h = WordHash(self.seed);
        h.bytes(key.principal.as_bytes());
        h.bytes(key.name.as_bytes());
        let ip = match key.host {
            IpAddr::V4(v4) => u128::from(u32::from(v4)),
            IpAddr::V6(v6) => u128::from(v6) ^ (1 << 127),
        };
        h.word(ip as u64);
        h.word((ip >> 64) as u64);
        h.word(
            u64::from(key.operation.code() as u8) | u64::from(key.resource_type.code() as u8) << 8,
        );
        h.finish()
    }

    /// The value stored for `key` in `generation`, if any.
    pub(super) fn get(&self, hash: u64, key: &Key<'_>, generation: u64) -> Option<i32> {
        let slot = self.map.get(&hash)?;
        (slot.generation == generation && slot.is(key)).then_some(slot.value)
    }

    /// Stores a value computed with the ACLs of `generation`.
    pub(super) fn insert(&self, hash: u64, key: &Key<'_>, generation: u64, value: i32) {
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
                value,
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
