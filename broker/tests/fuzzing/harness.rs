//! The harness proper: one fuzz input through the connection's request
//! path (frame split → `decode_header` → `api::dispatch`) on a spawned task,
//! and the verdict on what came back (`checks.rs` decodes the answer);
//! long-polls the request asked for are judged when they end.
//!
//! Not the run (seed, iterations, reporting: `wire_fuzz.rs`), the broker's
//! starting state (`setup.rs`) nor the inputs (`requests.rs`, `mutate.rs`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;
use memorystreamer_broker::api::{self, Reply};
use memorystreamer_broker::context::{RequestContext, Session};
use memorystreamer_broker::Broker;
use memorystreamer_protocol_kafka::frame::split_frame;
use memorystreamer_protocol_kafka::request::decode_header;
use memorystreamer_protocol_kafka::ProtocolError;

use super::alloc::RUN_SEED;
use super::checks::{acks_zero, check_response, may_wait};
use super::fields::Ctx;

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
pub enum Outcome {
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
pub struct Finding {
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

/// The fuzzing session: the broker, what exists in it, the findings.
pub struct Harness {
    /// The broker under test.
    pub broker: Arc<Broker>,
    /// What the set-up created, for the request generator.
    pub ctx: Ctx,
    timeout: Duration,
    /// Defects found so far.
    pub findings: Vec<Finding>,
    pending: Vec<Pending>,
    /// How many inputs ended each way.
    pub outcomes: BTreeMap<&'static str, u64>,
    /// (api, version) pairs answered at least once.
    pub answered: BTreeMap<(i16, i16), u64>,
    /// Protocol errors (the connection would be closed), by reason.
    pub closes: BTreeMap<String, u64>,
}

impl Harness {
    /// A harness over `broker`, allowing each handler `timeout` unless its
    /// request asked to wait longer.
    pub fn new(broker: Arc<Broker>, timeout: Duration) -> Harness {
        Harness {
            broker,
            ctx: Ctx::default(),
            timeout,
            findings: Vec::new(),
            pending: Vec::new(),
            outcomes: BTreeMap::new(),
            answered: BTreeMap::new(),
            closes: BTreeMap::new(),
        }
    }

    /// Records a finding for the input of `iteration`.
    pub fn find(&mut self, iteration: u64, api: ApiKey, version: i16, what: String, input: &[u8]) {
        self.findings.push(Finding {
            iteration,
            api,
            version,
            what,
            input: input.to_vec(),
        });
    }

    /// Runs one frame body through the connection's request path.
    pub async fn run_one(&mut self, iteration: u64, input: &[u8], must_answer: bool) -> Outcome {
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
            // As from the broker's PLAINTEXT listener: addresses in answers
            // are that listener's.
            let mut session = Session {
                listener: Arc::from("PLAINTEXT"),
                ..Session::default()
            };
            api::dispatch(
                &broker,
                &mut RequestContext::new(&header, &mut session),
                frame,
            )
            .await
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
    pub async fn reap(&mut self, drain: bool) {
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
}
