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
//! This is not a coverage-guided fuzzer (the cargo-fuzz targets in `fuzz/`
//! are) and not a TCP test (`wire.rs` is): it exercises the handlers and
//! their shared state, which the codec-level fuzz targets never reach.

mod fuzzing;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion};
use memorystreamer_broker::api::{self, Reply, Session, SUPPORTED};
use memorystreamer_broker::config::{BrokerConfig, LogFormat};
use memorystreamer_broker::{server, Broker};
use memorystreamer_protocol_kafka::frame::split_frame;
use memorystreamer_protocol_kafka::request::decode_header;
use memorystreamer_protocol_kafka::ProtocolError;

use fuzzing::alloc::{
    LARGEST, LIVE, MAX_LIVE_BYTES, MAX_SINGLE_ALLOCATION, PEAK, RUN_ITERATION, RUN_SEED,
};
use fuzzing::checks::{acks_zero, check_response, decode_request, may_wait};
use fuzzing::mutate::{mutate, mutate_batch};
use fuzzing::requests::{self, sb, tn, Ctx};
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

// ---------------------------------------------------------------------------
// Known findings
//
// Inputs that reproduce a defect already filed and owned elsewhere are not
// dispatched, so that CI stays green until the fix lands; each entry names
// the finding. Remove an entry with its fix. `WIRE_FUZZ_KNOWN=1` dispatches
// them anyway (to check a fix).

/// The known finding `frame` (a whole frame body) would reproduce, if any.
/// None at the moment: issue 12 item 10 (CreateTopics / CreatePartitions
/// committing more partitions than the process can open) was listed here
/// until the capacity checks before commit landed.
fn known_finding(_api: ApiKey, _version: i16, _body: &Bytes) -> Option<&'static str> {
    None
}

// ---------------------------------------------------------------------------
// The harness

/// What one input produced.
#[derive(Debug)]
enum Outcome {
    /// The header was refused (the connection would be closed).
    Rejected,
    /// The handler returned a protocol error (the connection would be closed).
    Closed(String),
    /// A response frame that decoded back correctly.
    Answered,
    /// No response, as Produce with acks=0 must.
    NoResponse,
    /// Still waiting, as the request asked (checked later).
    LongPoll,
    /// Not dispatched: reproduces a known finding.
    Known(&'static str),
}

/// A defect the harness found.
struct Finding {
    iteration: u64,
    api: ApiKey,
    version: i16,
    what: String,
    input: Vec<u8>,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex: String = self.input.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        });
        write!(
            f,
            "iteration {} ({:?} v{}): {}\n  replay: WIRE_FUZZ_SEED={} WIRE_FUZZ_ONLY={}\n  input ({} bytes): {hex}",
            self.iteration,
            self.api,
            self.version,
            self.what,
            RUN_SEED.load(Ordering::Relaxed),
            self.iteration,
            self.input.len()
        )
    }
}

/// A handler still waiting because its request asked it to.
struct Pending {
    iteration: u64,
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    deadline: Instant,
    task: tokio::task::JoinHandle<Result<Reply, ProtocolError>>,
    input: Vec<u8>,
}

/// Panics seen anywhere in the process (handler tasks and broker tasks).
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn take_panics() -> Vec<String> {
    std::mem::take(&mut *PANICS.lock().unwrap_or_else(|e| e.into_inner()))
}

/// The fuzzing session: the broker, what exists in it, the findings.
struct Harness {
    broker: Arc<Broker>,
    ctx: Ctx,
    timeout: Duration,
    findings: Vec<Finding>,
    pending: Vec<Pending>,
    outcomes: BTreeMap<&'static str, u64>,
    /// (api, version) pairs answered at least once.
    answered: BTreeMap<(i16, i16), u64>,
    closes: BTreeMap<String, u64>,
}

impl Harness {
    fn find(&mut self, iteration: u64, api: ApiKey, version: i16, what: String, input: &[u8]) {
        self.findings.push(Finding {
            iteration,
            api,
            version,
            what,
            input: input.to_vec(),
        });
    }

    /// Runs one frame body through the connection's request path.
    async fn run_one(&mut self, iteration: u64, input: &[u8], must_answer: bool) -> Outcome {
        let max = self.broker.config.socket_request_max_bytes;
        let mut buf = BytesMut::with_capacity(4 + input.len());
        buf.put_i32(input.len() as i32);
        buf.extend_from_slice(input);
        let mut frame = match split_frame(&mut buf, max) {
            Ok(Some(f)) => f.freeze(),
            _ => return Outcome::Rejected,
        };
        let header = match decode_header(&mut frame, api::table()) {
            Ok(h) => h,
            Err(_) => return Outcome::Rejected,
        };
        let (api, version, correlation_id) =
            (header.api_key, header.version(), header.correlation_id());
        let body = frame.clone();
        if std::env::var_os("WIRE_FUZZ_KNOWN").is_none() {
            if let Some(known) = known_finding(api, version, &body) {
                return Outcome::Known(known);
            }
        }
        let broker = Arc::clone(&self.broker);
        let mut task = tokio::spawn(async move {
            let mut session = Session::default();
            api::dispatch(&broker, &mut session, &header, frame).await
        });
        let started = Instant::now();
        let joined = match tokio::time::timeout(self.timeout, &mut task).await {
            Ok(joined) => joined,
            Err(_) => {
                return match may_wait(api, version, &body) {
                    Some(wait) if wait + Duration::from_secs(1) >= self.timeout => {
                        self.pending.push(Pending {
                            iteration,
                            api,
                            version,
                            correlation_id,
                            deadline: started + wait.min(Duration::from_secs(600)) + self.timeout,
                            task,
                            input: input.to_vec(),
                        });
                        Outcome::LongPoll
                    }
                    _ => {
                        task.abort();
                        self.find(
                            iteration,
                            api,
                            version,
                            format!("handler still running after {:?}", self.timeout),
                            input,
                        );
                        Outcome::Closed("hang".into())
                    }
                };
            }
        };
        self.judge(
            iteration,
            api,
            version,
            correlation_id,
            &body,
            joined,
            input,
            must_answer,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn judge(
        &mut self,
        iteration: u64,
        api: ApiKey,
        version: i16,
        correlation_id: i32,
        body: &Bytes,
        joined: Result<Result<Reply, ProtocolError>, tokio::task::JoinError>,
        input: &[u8],
        must_answer: bool,
    ) -> Outcome {
        match joined {
            Ok(Ok(Reply::Frame(frame))) => {
                match check_response(api, version, correlation_id, &frame) {
                    Ok(()) => {
                        *self.answered.entry((api as i16, version)).or_default() += 1;
                        Outcome::Answered
                    }
                    Err(e) => {
                        self.find(
                            iteration,
                            api,
                            version,
                            format!("malformed response: {e}"),
                            input,
                        );
                        Outcome::Closed(e)
                    }
                }
            }
            Ok(Ok(Reply::None)) => {
                if !(api == ApiKey::Produce && acks_zero(version, body)) {
                    self.find(
                        iteration,
                        api,
                        version,
                        "no response to a request that needs one".into(),
                        input,
                    );
                }
                Outcome::NoResponse
            }
            Ok(Err(ProtocolError::Encode { reason, .. })) => {
                self.find(
                    iteration,
                    api,
                    version,
                    format!("response does not encode: {reason}"),
                    input,
                );
                Outcome::Closed(reason)
            }
            Ok(Err(e)) => {
                if must_answer {
                    self.find(
                        iteration,
                        api,
                        version,
                        format!("valid request refused: {e}"),
                        input,
                    );
                }
                Outcome::Closed(e.to_string())
            }
            Err(e) if e.is_panic() => {
                let payload = e.into_panic();
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                self.find(
                    iteration,
                    api,
                    version,
                    format!("handler panicked: {msg}"),
                    input,
                );
                Outcome::Closed("panic".into())
            }
            Err(e) => {
                self.find(
                    iteration,
                    api,
                    version,
                    format!("handler task failed: {e}"),
                    input,
                );
                Outcome::Closed("join error".into())
            }
        }
    }

    /// Judges long-polls that have ended; with `drain`, waits for the rest
    /// up to their deadlines (or aborts those that asked to wait longer
    /// than the run lasts).
    async fn reap(&mut self, drain: bool) {
        let pending = std::mem::take(&mut self.pending);
        for mut p in pending {
            let finished = p.task.is_finished();
            if !finished && !drain {
                self.pending.push(p);
                continue;
            }
            let left = p.deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left.min(Duration::from_secs(30)), &mut p.task).await {
                Ok(joined) => {
                    let body = Bytes::new();
                    self.judge(
                        p.iteration,
                        p.api,
                        p.version,
                        p.correlation_id,
                        &body,
                        joined,
                        &p.input,
                        false,
                    );
                }
                Err(_) if Instant::now() >= p.deadline => {
                    p.task.abort();
                    self.find(
                        p.iteration,
                        p.api,
                        p.version,
                        "long-poll outlived the wait it asked for".into(),
                        &p.input,
                    );
                }
                Err(_) => {
                    // Asked to wait longer than the run lasts.
                    p.task.abort();
                    *self
                        .outcomes
                        .entry("long-poll abandoned at the end")
                        .or_default() += 1;
                }
            }
        }
    }

    /// One call through dispatch, for the set-up.
    async fn call<Req, Resp>(&self, api: ApiKey, version: i16, req: &Req) -> Resp
    where
        Req: Encodable + HeaderVersion,
        Resp: Decodable + HeaderVersion,
    {
        let mut frame = requests::frame(api, version, 1, req).expect("encode set-up request");
        let header = decode_header(&mut frame, api::table()).expect("set-up header");
        let mut session = Session::default();
        let reply = api::dispatch(&self.broker, &mut session, &header, frame)
            .await
            .expect("set-up request answered");
        let Reply::Frame(frame) = reply else {
            panic!("no answer to a set-up request")
        };
        let mut body = frame.slice(4..);
        ResponseHeader::decode(&mut body, Resp::header_version(version)).expect("header");
        Resp::decode(&mut body, version).expect("set-up response")
    }

    /// Topics with data, a group with a member, a transactional producer.
    async fn set_up(&mut self) {
        let mut created = Vec::new();
        // fuzz-b rolls small segments and keeps few of them (retention runs
        // under fetches); fuzz-c is compacted with small segments, so the
        // cleaner works through whatever Produce accepted.
        type Configs = &'static [(&'static str, &'static str)];
        let topics: [(&str, i32, Configs); 3] = [
            ("fuzz-a", 3, &[]),
            (
                "fuzz-b",
                1,
                &[("segment.bytes", "4096"), ("retention.bytes", "8192")],
            ),
            (
                "fuzz-c",
                2,
                &[
                    ("cleanup.policy", "compact"),
                    ("segment.bytes", "4096"),
                    ("min.cleanable.dirty.ratio", "0.01"),
                    ("delete.retention.ms", "0"),
                ],
            ),
        ];
        for (name, partitions, configs) in topics {
            let t = create_topics_request::CreatableTopic::default()
                .with_name(tn(name))
                .with_num_partitions(partitions)
                .with_replication_factor(1)
                .with_configs(
                    configs
                        .iter()
                        .map(|(k, v)| {
                            create_topics_request::CreatableTopicConfig::default()
                                .with_name(sb(k))
                                .with_value(Some(sb(v)))
                        })
                        .collect(),
                );
            created.push(t);
        }
        let resp: CreateTopicsResponse = self
            .call(
                ApiKey::CreateTopics,
                7,
                &CreateTopicsRequest::default()
                    .with_topics(created)
                    .with_timeout_ms(5000),
            )
            .await;
        for t in &resp.topics {
            assert_eq!(t.error_code, 0, "creating {:?}", t.name);
            self.ctx
                .topics
                .push((t.name.0.to_string(), t.topic_id, t.num_partitions));
        }
        let mut rng = Rng::for_input(RUN_SEED.load(Ordering::Relaxed), u64::MAX);
        for (name, _, partitions) in self.ctx.topics.clone() {
            for p in 0..partitions {
                let req = ProduceRequest::default()
                    .with_acks(-1)
                    .with_timeout_ms(5000)
                    .with_topic_data(vec![produce_request::TopicProduceData::default()
                        .with_name(tn(&name))
                        .with_partition_data(vec![
                            produce_request::PartitionProduceData::default()
                                .with_index(p)
                                .with_records(Some(requests::record_batch(&mut rng, None, true))),
                        ])]);
                let resp: ProduceResponse = self.call(ApiKey::Produce, 9, &req).await;
                assert_eq!(
                    resp.responses[0].partition_responses[0].error_code, 0,
                    "set-up produce"
                );
            }
        }
        self.ctx.txn_id = "fuzz-txn".into();
        let find: FindCoordinatorResponse = self
            .call(
                ApiKey::FindCoordinator,
                3,
                &FindCoordinatorRequest::default()
                    .with_key_type(1)
                    .with_key(sb("fuzz-txn")),
            )
            .await;
        assert_eq!(find.error_code, 0, "set-up FindCoordinator");
        let resp: InitProducerIdResponse = self
            .call(
                ApiKey::InitProducerId,
                4,
                &InitProducerIdRequest::default()
                    .with_transactional_id(Some(TransactionalId(sb("fuzz-txn"))))
                    .with_transaction_timeout_ms(60_000),
            )
            .await;
        assert_eq!(resp.error_code, 0, "set-up InitProducerId");
        self.ctx.producer = (resp.producer_id.0, resp.producer_epoch);
        self.ctx.group = "fuzz-group".into();
        let join = |member: &str| {
            JoinGroupRequest::default()
                .with_group_id(GroupId(sb("fuzz-group")))
                .with_session_timeout_ms(600_000)
                .with_rebalance_timeout_ms(1_000)
                .with_member_id(sb(member))
                .with_protocol_type(sb("consumer"))
                .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
                )
                .with_name(sb("range"))
                .with_metadata(Bytes::from_static(b"\0\0"))])
        };
        let first: JoinGroupResponse = self.call(ApiKey::JoinGroup, 9, &join("")).await;
        let second: JoinGroupResponse = self
            .call(ApiKey::JoinGroup, 9, &join(first.member_id.as_str()))
            .await;
        assert_eq!(second.error_code, 0, "set-up JoinGroup");
        self.ctx.member_id = second.member_id.to_string();
        self.ctx.generation = second.generation_id;
        let sync: SyncGroupResponse = self
            .call(
                ApiKey::SyncGroup,
                5,
                &SyncGroupRequest::default()
                    .with_group_id(GroupId(sb("fuzz-group")))
                    .with_generation_id(second.generation_id)
                    .with_member_id(second.member_id.clone())
                    .with_protocol_type(Some(sb("consumer")))
                    .with_protocol_name(Some(sb("range")))
                    .with_assignments(vec![
                        sync_group_request::SyncGroupRequestAssignment::default()
                            .with_member_id(second.member_id.clone())
                            .with_assignment(Bytes::from_static(b"\0\0")),
                    ]),
            )
            .await;
        assert_eq!(sync.error_code, 0, "set-up SyncGroup");
    }
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
            let mut buf =
                requests::header(api, version, correlation_id, Some("wire-fuzz")).to_vec();
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
        let mut batch = requests::record_batch(&mut rng, producer, keyed).to_vec();
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
    let mut buf = match filled.or_else(|| requests::default_frame(api, version, correlation_id)) {
        Some(f) => f.to_vec(),
        // Versions kafka-protocol cannot encode (Produce v0-2): a header
        // and some bytes; the header decoder refuses them.
        None => {
            let mut b = requests::header(api, version, correlation_id, None).to_vec();
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
    let mut h = Harness {
        broker,
        ctx: Ctx::default(),
        timeout,
        findings: Vec::new(),
        pending: Vec::new(),
        outcomes: BTreeMap::new(),
        answered: BTreeMap::new(),
        closes: BTreeMap::new(),
    };
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
            let mut frame = requests::default_frame(api, v, 7).unwrap_or_default();
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
