//! Support for the in-process wire fuzz harness (`tests/wire_fuzz.rs`): a
//! seeded PRNG, random field values and valid requests for every supported
//! API and version, the mutations applied to them, the per-API table, the
//! broker's starting state, the harness that runs one input and judges the
//! answer, and the allocation accounting. The run itself (seed, iterations,
//! the input mix, the report) lives in `wire_fuzz.rs`.

pub mod alloc;
pub mod apis;
pub mod checks;
pub mod fields;
pub mod groups;
pub mod harness;
pub mod mutate;
pub mod requests;
pub mod rng;
pub mod setup;
