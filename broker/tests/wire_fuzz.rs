//! Wire fuzz harness: drives the broker's real request path in-process
//! (frame split → `decode_header` → `api::dispatch`) with random bytes and
//! with mutated valid requests for every supported API key at every
//! supported version, against a broker opened on a temporary directory.
//!
//! For every input it checks that nothing panics (in the handler or in any
//! broker task), that the answer is either a protocol error (the connection
//! would be closed) or a frame that decodes back as the right response type
//! and version with the request's correlation id, that no single allocation
//! is far above what the input justifies, that live heap stays bounded, and
//! that the handler finishes in time (long-polls that the request asked for
//! are allowed to wait and are checked when they end).
//!
//! CI runs a short, fixed-seed run. A long run:
//! `WIRE_FUZZ_ITERATIONS=1000000 WIRE_FUZZ_SEED=<n> cargo test --release -p memorystreamer-broker --test wire_fuzz`.
//! A failure prints the seed, the iteration and the input in hex; replay
//! one input with `WIRE_FUZZ_SEED=<seed> WIRE_FUZZ_ONLY=<iteration>`.
//!
//! This file is the run: its parameters, the mix of inputs (`input_for`),
//! the loop and the report. `fuzzing/` holds the rest: `harness.rs` runs one
//! input through dispatch and judges it (and lists the known findings not
//! dispatched), `setup.rs` the broker's starting state, `requests.rs` and
//! `groups.rs` the valid requests (from `fields.rs`'s values), `mutate.rs`
//! the mutations, `apis.rs` the one per-API table, `alloc.rs` the
//! allocation accounting.
//!
//! This is not a coverage-guided fuzzer (the cargo-fuzz targets in `fuzz/`
//! are) and not a TCP test (`wire.rs` is): it exercises the handlers and
//! their shared state, which the codec-level fuzz targets never reach.

mod fuzzing;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::*;
use memorystreamer_broker::api::{self, SUPPORTED};
use memorystreamer_broker::config::{BrokerConfig, LogFormat};
use memorystreamer_broker::{server, Broker};
use memorystreamer_protocol_kafka::request::decode_header;

use fuzzing::alloc::{
    LARGEST, LIVE, MAX_LIVE_BYTES, MAX_SINGLE_ALLOCATION, PEAK, RUN_ITERATION, RUN_SEED,
};
use fuzzing::apis::{decode_request, default_frame};
use fuzzing::fields::{self, Ctx};
use fuzzing::harness::{Harness, Outcome};
use fuzzing::mutate::{mutate, mutate_batch};
use fuzzing::requests;
use fuzzing::rng::Rng;

// ---------------------------------------------------------------------------
// Run parameters

/// Inputs in a CI run (a few seconds in release on two cores).
const DEFAULT_ITERATIONS: u64 = 40_000;
/// The CI run's seed: fixed, so that CI is deterministic.
const DEFAULT_SEED: u64 = 0x5eed_2026_1212;
/// Time one handler may take unless the request asked it to wait.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Name of the runtime's threads (workers and blocking pool), whose panics
/// are findings.
const WORKER_THREAD: &str = "wire-fuzz-broker";
/// At most this many findings are collected before the run stops.
const MAX_FINDINGS: usize = 20;

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number")))
}

/// Panics seen anywhere in the process (handler tasks and broker tasks).
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn take_panics() -> Vec<String> {
    std::mem::take(&mut *PANICS.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Every (api, version) the broker advertises.
fn pairs() -> Vec<(ApiKey, i16)> {
    SUPPORTED
        .iter()
        .flat_map(|(api, min, max)| (*min..=*max).map(move |v| (*api, v)))
        .collect()
}

/// How an input is made.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// A valid request, unchanged: it must be answered.
    Valid,
    /// A valid request with byte-level mutations.
    Mutated,
    /// A valid Produce whose batch was mutated and its CRC fixed up.
    BatchMutated,
    /// A valid header followed by random bytes.
    RandomBody,
    /// Random bytes.
    Random,
}

/// The input of `iteration`: a whole frame body (header + request). The
/// second value says whether the request is a valid, filled-in one.
fn input_for(
    seed: u64,
    iteration: u64,
    pairs: &[(ApiKey, i16)],
    ctx: &Ctx,
) -> (Kind, Vec<u8>, bool) {
    let (api, version) = pairs[(iteration % pairs.len() as u64) as usize];
    let mut rng = Rng::for_input(seed, iteration);
    // The first pass over the pairs sends each one valid request.
    let kind = match rng.below(100) {
        _ if iteration < pairs.len() as u64 => Kind::Valid,
        0..=4 => Kind::Random,
        5..=11 => Kind::RandomBody,
        12..=26 => Kind::Valid,
        27..=36 if api == ApiKey::Produce => Kind::BatchMutated,
        _ => Kind::Mutated,
    };
    let correlation_id = iteration as i32;
    match kind {
        Kind::Random => {
            let n = rng.below(64);
            return (kind, rng.bytes(n), false);
        }
        Kind::RandomBody => {
            let mut buf = fields::header(api, version, correlation_id, Some("wire-fuzz")).to_vec();
            let n = rng.below(256);
            buf.extend_from_slice(&rng.bytes(n));
            return (kind, buf, false);
        }
        _ => {}
    }
    let records = (kind == Kind::BatchMutated).then(|| {
        let producer = rng
            .chance(30)
            .then_some((ctx.producer.0, ctx.producer.1, 0));
        let keyed = rng.chance(50);
        let mut batch = fields::record_batch(&mut rng, producer, keyed).to_vec();
        mutate_batch(&mut rng, &mut batch);
        Bytes::from(batch)
    });
    let mut filled = None;
    for _ in 0..16 {
        if let Some(f) =
            requests::build(api, version, correlation_id, &mut rng, ctx, records.clone())
        {
            filled = Some(f);
            break;
        }
    }
    let is_filled = filled.is_some();
    let mut buf = match filled.or_else(|| default_frame(api, version, correlation_id)) {
        Some(f) => f.to_vec(),
        // Versions kafka-protocol cannot encode (Produce v0-2): a header
        // and some bytes; the header decoder refuses them.
        None => {
            let mut b = fields::header(api, version, correlation_id, None).to_vec();
            b.extend_from_slice(&rng.bytes(16));
            b
        }
    };
    if kind == Kind::Mutated {
        mutate(&mut rng, &mut buf, 4);
    }
    (kind, buf, is_filled && kind == Kind::Valid)
}

#[test]
fn dispatch_survives_random_and_mutated_requests() {
    let seed = env_u64("WIRE_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let iterations = env_u64("WIRE_FUZZ_ITERATIONS").unwrap_or(DEFAULT_ITERATIONS);
    let only = env_u64("WIRE_FUZZ_ONLY");
    let timeout = env_u64("WIRE_FUZZ_TIMEOUT_MS").map_or(DEFAULT_TIMEOUT, Duration::from_millis);
    RUN_SEED.store(seed, Ordering::Relaxed);
    eprintln!("wire_fuzz: seed {seed} ({iterations} iterations; WIRE_FUZZ_SEED / WIRE_FUZZ_ITERATIONS / WIRE_FUZZ_ONLY to change)");
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Only the broker's threads: other tests share the process.
        if std::thread::current().name() == Some(WORKER_THREAD) {
            PANICS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(info.to_string());
        }
        previous(info);
    }));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(WORKER_THREAD)
        .enable_all()
        .build()
        .expect("runtime");
    let report = rt.block_on(fuzz(seed, iterations, only, timeout));
    drop(rt);
    let _ = std::panic::take_hook();
    if let Err(report) = report {
        panic!("{report}");
    }
}

async fn fuzz(
    seed: u64,
    iterations: u64,
    only: Option<u64>,
    timeout: Duration,
) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut props = BTreeMap::new();
    props.insert(
        "log.dirs".to_string(),
        dir.path().join("data").display().to_string(),
    );
    props.insert(
        "listeners".to_string(),
        "PLAINTEXT://127.0.0.1:0".to_string(),
    );
    props.insert(
        "group.initial.rebalance.delay.ms".to_string(),
        "0".to_string(),
    );
    // Background work runs often, over what the fuzzed requests stored.
    for (k, v) in [
        ("log.cleaner.backoff.ms", "200"),
        ("log.retention.check.interval.ms", "200"),
    ] {
        props.insert(k.to_string(), v.to_string());
    }
    let config = BrokerConfig::from_properties(&props, LogFormat::Text).expect("config");
    let broker = Arc::new(Broker::open(config).await.expect("open broker"));
    // The broker's timers (group sessions, transaction timeouts, retention)
    // run as in production; there are no listeners.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::run(Arc::clone(&broker), Vec::new(), None, async {
        let _ = stop_rx.await;
    }));
    let mut h = Harness::new(broker, timeout);
    h.set_up().await;
    let baseline = LIVE.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    let pairs = pairs();
    let started = Instant::now();
    let range = match only {
        Some(i) => i..i + 1,
        None => 0..iterations,
    };
    for iteration in range {
        let (kind, input, must_answer) = input_for(seed, iteration, &pairs, &h.ctx);
        let (api, version) = pairs[(iteration % pairs.len() as u64) as usize];
        if only.is_some() {
            eprintln!(
                "wire_fuzz: iteration {iteration}: {kind:?} {api:?} v{version}, {} bytes",
                input.len()
            );
        }
        RUN_ITERATION.store(iteration, Ordering::Relaxed);
        LARGEST.store(0, Ordering::Relaxed);
        let outcome = h.run_one(iteration, &input, must_answer).await;
        if only.is_some() {
            eprintln!("wire_fuzz: outcome {outcome:?}");
        }
        let largest = LARGEST.load(Ordering::Relaxed);
        if largest > MAX_SINGLE_ALLOCATION {
            h.find(
                iteration,
                api,
                version,
                format!(
                    "one allocation of {largest} bytes for a {}-byte input",
                    input.len()
                ),
                &input,
            );
        }
        for p in take_panics() {
            h.find(iteration, api, version, format!("panic: {p}"), &input);
        }
        let key = match &outcome {
            Outcome::Rejected => "header refused",
            Outcome::Closed(e) => {
                // "malformed X vN request: <reason>" → the reason's start.
                let reason = e.split_once("request: ").map_or(e.as_str(), |(_, r)| r);
                let reason = reason.split(['(', '\n']).next().unwrap_or(reason);
                let short: String = reason.trim().chars().take(40).collect();
                *h.closes.entry(short).or_default() += 1;
                "closed"
            }
            Outcome::Answered => "answered",
            Outcome::NoResponse => "no response (acks=0)",
            Outcome::LongPoll => "long-poll",
            Outcome::Known(k) => k,
        };
        *h.outcomes.entry(key).or_default() += 1;
        if iteration % 64 == 0 {
            h.reap(false).await;
        }
        if h.findings.len() >= MAX_FINDINGS {
            break;
        }
    }
    h.reap(true).await;
    for p in take_panics() {
        h.find(
            u64::MAX,
            ApiKey::ApiVersions,
            0,
            format!("panic in a broker task: {p}"),
            &[],
        );
    }
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(baseline);
    let elapsed = started.elapsed();
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(30), server).await;
    eprintln!(
        "wire_fuzz: {:?} in {elapsed:.1?}; peak live heap above the set-up's {} MiB: {} MiB",
        h.outcomes,
        baseline >> 20,
        peak >> 20
    );
    eprintln!(
        "wire_fuzz: protocol errors (connection closed): {:?}",
        h.closes
    );
    if peak > MAX_LIVE_BYTES {
        h.find(
            u64::MAX,
            ApiKey::ApiVersions,
            0,
            format!("live heap grew by {peak} bytes"),
            &[],
        );
    }
    if only.is_none() && iterations >= 10 * pairs.len() as u64 {
        let missing: Vec<String> = pairs
            .iter()
            .filter(|(api, v)| !(*api == ApiKey::Produce && *v < 3))
            .filter(|(api, v)| !h.answered.contains_key(&(*api as i16, *v)))
            .map(|(api, v)| format!("{api:?} v{v}"))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "never answered (the generator does not reach them): {missing:?}"
            ));
        }
    }
    if h.findings.is_empty() {
        return Ok(());
    }
    let mut report = format!(
        "wire_fuzz: {} finding(s) with seed {seed}:\n",
        h.findings.len()
    );
    for f in &h.findings {
        let _ = writeln!(report, "{f}");
    }
    Err(report)
}

/// Every version ApiVersions advertises can be decoded: kafka-protocol's
/// `ApiKey::valid_versions` includes versions its request structs cannot
/// decode (OffsetCommit v10, OffsetFetch v10, InitProducerId v6);
/// advertising them made a client that picked them lose its connection. Produce v0–2 are the one
/// exception: advertised for librdkafka's sake and refused on purpose.
#[test]
fn every_advertised_version_decodes() {
    let undecodable: Vec<String> = api::table()
        .api_versions_response(0)
        .api_keys
        .iter()
        .flat_map(|k| (k.min_version..=k.max_version).map(move |v| (k.api_key, v)))
        .filter(|(key, v)| !(*key == ApiKey::Produce as i16 && *v < 3))
        .filter_map(|(key, v)| {
            let api = ApiKey::try_from(key).ok()?;
            let mut frame = default_frame(api, v, 7).unwrap_or_default();
            let header = decode_header(&mut frame, api::table()).ok();
            let decodes = header.is_some_and(|h| decode_request(api, &h, frame).is_ok());
            (!decodes).then(|| format!("{api:?} v{v}"))
        })
        .collect();
    assert!(
        undecodable.is_empty(),
        "advertised but not decodable: {undecodable:?}"
    );
}
