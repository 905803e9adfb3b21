//! Wire-level tests: raw Kafka requests over TCP against an in-process
//! broker, for the behaviours real clients depend on and the bad input they
//! must never be able to break the broker with.
//!
//! One test binary (`--test wire`), one file per Kafka API under `wire/`
//! (the `#[path]` attributes below keep them out of Cargo's test-target
//! discovery). A test that exercises several APIs lives with the API it
//! mainly asserts on (e.g. the idempotent-producer test, which needs
//! InitProducerId, is in `produce.rs`); the few that are about no single
//! API have their own file: `framing.rs` (the frame layer under every API),
//! `restart.rs` (what a data directory keeps across a restart) and
//! `transactions.rs` (the transaction APIs, one flow whose steps depend on
//! each other). Helpers used by one file stay in it; helpers shared by
//! several files are in `wire/support.rs`, and those shared with other test
//! binaries in `common/`.
//!
//! Not the in-process fuzzer (`wire_fuzz.rs`) nor client-library tests
//! (`compat-tests/`).

mod common;

#[path = "wire/api_versions.rs"]
mod api_versions;
#[path = "wire/configs.rs"]
mod configs;
#[path = "wire/create_partitions.rs"]
mod create_partitions;
#[path = "wire/create_topics.rs"]
mod create_topics;
#[path = "wire/delete_records.rs"]
mod delete_records;
#[path = "wire/describe_topic_partitions.rs"]
mod describe_topic_partitions;
#[path = "wire/fetch.rs"]
mod fetch;
#[path = "wire/find_coordinator.rs"]
mod find_coordinator;
#[path = "wire/framing.rs"]
mod framing;
#[path = "wire/groups.rs"]
mod groups;
#[path = "wire/list_offsets.rs"]
mod list_offsets;
#[path = "wire/metadata.rs"]
mod metadata;
#[path = "wire/produce.rs"]
mod produce;
#[path = "wire/reassignment.rs"]
mod reassignment;
#[path = "wire/restart.rs"]
mod restart;
#[path = "wire/support.rs"]
mod support;
#[path = "wire/transactions.rs"]
mod transactions;
