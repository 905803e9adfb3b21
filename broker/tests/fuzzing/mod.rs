//! Support for the in-process wire fuzz harness (`tests/wire_fuzz.rs`): a
//! seeded PRNG, valid requests for every supported API and version, and the
//! mutations applied to them. The harness itself (the broker, the checks,
//! the allocation accounting) lives in `wire_fuzz.rs`.

pub mod alloc;
pub mod checks;
pub mod groups;
pub mod mutate;
pub mod requests;
pub mod rng;
