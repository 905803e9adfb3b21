//! What the request generators share: the broker state a request can name
//! (`Ctx`), random field values (names of topics and groups that exist, and
//! some that do not; ordinary and edge-case numbers), valid record batches,
//! and the header and frame encoding.
//!
//! Not any API's request (`requests.rs`, `groups.rs`).

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, HeaderVersion, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use uuid::Uuid;

use super::rng::Rng;

/// What the broker holds when fuzzing starts, so that requests can name
/// things that exist.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    /// (name, id, partitions) of the topics created for the run.
    pub topics: Vec<(String, Uuid, i32)>,
    /// The group the set-up joined, its member and generation.
    pub group: String,
    /// Member id in `group`.
    pub member_id: String,
    /// Generation of `group`.
    pub generation: i32,
    /// The transactional id the set-up initialised.
    pub txn_id: String,
    /// Its producer id and epoch.
    pub producer: (i64, i16),
}

/// A client-facing string.
pub fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// A topic name.
pub fn tn(s: &str) -> TopicName {
    TopicName(sb(s))
}

/// The request header of a frame (v1 or v2 as the API and version require).
pub fn header(api: ApiKey, version: i16, correlation_id: i32, client_id: Option<&str>) -> BytesMut {
    let mut buf = BytesMut::new();
    let h = RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(client_id.map(sb));
    // Header v2 for flexible versions; v1 otherwise (both always encode).
    if h.encode(&mut buf, api.request_header_version(version))
        .is_err()
    {
        buf.clear();
    }
    buf
}

/// A whole frame body (header + request) for `body` at `version`.
pub fn frame<T: Encodable + HeaderVersion>(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &T,
) -> Option<Bytes> {
    let mut buf = header(api, version, correlation_id, Some("wire-fuzz"));
    body.encode(&mut buf, version).ok()?;
    Some(buf.freeze())
}

pub(super) fn topic(rng: &mut Rng, ctx: &Ctx) -> (String, Uuid) {
    match rng.below(10) {
        0 => (format!("fuzz-new-{}", rng.below(20)), Uuid::nil()),
        1 => (
            rng.pick(&["", ".", "..", "__consumer_offsets", "bad/name", "x"])
                .to_string(),
            Uuid::from_u128(rng.next_u64() as u128),
        ),
        _ => {
            let (name, id, _) = &ctx.topics[rng.below(ctx.topics.len())];
            (name.clone(), *id)
        }
    }
}

pub(super) fn partition(rng: &mut Rng) -> i32 {
    rng.pick(&[0, 0, 0, 1, 2, -1, 7, i32::MAX])
}

pub(super) fn offset(rng: &mut Rng) -> i64 {
    rng.pick(&[0, 0, 1, 3, 10, -1, -2, -3, -4, i64::MAX, i64::MIN])
}

pub(super) fn group(rng: &mut Rng, ctx: &Ctx) -> String {
    match rng.below(4) {
        0 => format!("fuzz-group-{}", rng.below(8)),
        1 => rng.pick(&["", "g"]).to_string(),
        _ => ctx.group.clone(),
    }
}

pub(super) fn member(rng: &mut Rng, ctx: &Ctx) -> String {
    if rng.chance(70) {
        ctx.member_id.clone()
    } else {
        rng.pick(&["", "unknown-member"]).to_string()
    }
}

pub(super) fn txn_id(rng: &mut Rng, ctx: &Ctx) -> String {
    if rng.chance(70) {
        ctx.txn_id.clone()
    } else {
        format!("fuzz-txn-{}", rng.below(4))
    }
}

pub(super) fn opt_str(rng: &mut Rng, s: &str) -> Option<StrBytes> {
    if rng.chance(50) {
        Some(sb(s))
    } else {
        None
    }
}

pub(super) fn opt_pick(rng: &mut Rng, xs: &[&str]) -> Option<StrBytes> {
    let s = rng.pick(xs);
    opt_str(rng, s)
}

/// A small wait, so that long-polls in valid requests end quickly.
pub(super) fn wait_ms(rng: &mut Rng) -> i32 {
    rng.pick(&[0, 0, 1, 10, 50])
}

pub(super) fn vec_of<T>(rng: &mut Rng, max: usize, mut f: impl FnMut(&mut Rng) -> T) -> Vec<T> {
    let n = rng.below(max + 1);
    (0..n).map(|_| f(rng)).collect()
}

/// A valid RecordBatch v2 of 1–5 records (random compression, keys,
/// headers), plain or idempotent; every record has a key when `keyed`.
pub fn record_batch(rng: &mut Rng, producer: Option<(i64, i16, i32)>, keyed: bool) -> Bytes {
    let n = 1 + rng.below(5);
    let compression = rng.pick(&[
        Compression::None,
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ]);
    let records: Vec<Record> = (0..n)
        .map(|i| {
            let mut headers = indexmap_headers();
            if rng.chance(20) {
                headers.insert(sb("h"), Some(Bytes::from_static(b"v")));
            }
            Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: producer.map_or(-1, |p| p.0),
                producer_epoch: producer.map_or(-1, |p| p.1),
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: producer.map_or(i as i32 - 1, |p| p.2 + i as i32),
                timestamp: 1_000 + i as i64,
                key: if keyed || rng.chance(50) {
                    Some(Bytes::from(format!("k{}", rng.below(4))))
                } else {
                    None
                },
                value: Some(Bytes::from(rng.some_bytes(0, 40))),
                headers,
            }
        })
        .collect();
    let mut buf = BytesMut::new();
    if RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .is_err()
    {
        buf.clear();
    }
    buf.freeze()
}

fn indexmap_headers() -> kafka_protocol::indexmap::IndexMap<StrBytes, Option<Bytes>> {
    Default::default()
}
