//! Criterion micro-benchmarks of the hot spots: request frame decode,
//! RecordBatch validation + CRC32C, log append, index lookup, and the fetch
//! read path. Run with `cargo bench -p memorystreamer-benches`.

mod common;

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use common::batch_with;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kafka_protocol::messages::{
    produce_request::{PartitionProduceData, TopicProduceData},
    ApiKey, ProduceRequest, RequestHeader, TopicName,
};
use kafka_protocol::protocol::{Encodable, StrBytes};
use kafka_protocol::records::Compression;
use memorystreamer_log::index::OffsetIndex;
use memorystreamer_log::{Log, LogConfig};
use memorystreamer_protocol_kafka::frame::split_frame;
use memorystreamer_protocol_kafka::records::validate_produce_records;
use memorystreamer_protocol_kafka::request::{decode_body, decode_header};
use memorystreamer_protocol_kafka::versions::{ApiRange, ApiTable};

/// A RecordBatch of `n` records with `size`-byte values.
fn batch(n: usize, size: usize) -> Bytes {
    batch_with(n, size, Compression::None)
}

fn produce_frame(records: Bytes) -> BytesMut {
    let req = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(1000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str("bench")))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])]);
    let mut body = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(ApiKey::Produce as i16)
        .with_request_api_version(9)
        .with_correlation_id(1)
        .with_client_id(Some(StrBytes::from_static_str("bench")))
        .encode(&mut body, 2)
        .expect("header");
    req.encode(&mut body, 9).expect("body");
    let mut frame = BytesMut::new();
    frame.extend_from_slice(&(body.len() as i32).to_be_bytes());
    frame.extend_from_slice(&body);
    frame
}

fn bench(c: &mut Criterion) {
    let table = ApiTable::new(vec![ApiRange {
        api_key: ApiKey::Produce,
        min: 0,
        max: 13,
    }]);
    let records = batch(100, 100);

    let mut g = c.benchmark_group("frame_decode");
    let frame = produce_frame(records.clone());
    g.throughput(Throughput::Bytes(frame.len() as u64));
    g.bench_function("produce_v9_100x100B", |b| {
        b.iter_batched(
            || frame.clone(),
            |mut buf| {
                let mut f = split_frame(&mut buf, 1 << 20)
                    .expect("ok")
                    .expect("frame")
                    .freeze();
                let h = decode_header(&mut f, &table).expect("header");
                let req: ProduceRequest = decode_body(&h, f).expect("body");
                black_box(req)
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("batch_validate_crc32c");
    for (n, size) in [(100usize, 100usize), (16, 1024), (1, 1 << 20)] {
        let b = batch(n, size);
        g.throughput(Throughput::Bytes(b.len() as u64));
        g.bench_function(format!("{n}x{size}B"), |bench| {
            bench.iter(|| black_box(validate_produce_records(&b).expect("valid")))
        });
    }
    g.finish();

    // The record walk Produce adds after the CRC (DESIGN §2): every record
    // parsed in place, compressed batches streamed through a capped decoder.
    let mut g = c.benchmark_group("record_walk");
    for (n, size, codec, name) in [
        (100usize, 100usize, Compression::None, "none"),
        (16, 1024, Compression::None, "none"),
        (100, 100, Compression::Lz4, "lz4"),
        (100, 100, Compression::Zstd, "zstd"),
        (100, 100, Compression::Snappy, "snappy"),
        (100, 100, Compression::Gzip, "gzip"),
    ] {
        let b = batch_with(n, size, codec);
        let h = memorystreamer_log::BatchHeader::parse(&b).expect("header");
        g.throughput(Throughput::Bytes((n * size) as u64));
        g.bench_function(format!("{n}x{size}B_{name}"), |bench| {
            bench.iter(|| {
                black_box(
                    memorystreamer_log::records::validate_produced(&h, &b, 64 << 20)
                        .expect("valid"),
                )
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("log_append");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), LogConfig::default()).expect("log");
    g.throughput(Throughput::Bytes(records.len() as u64));
    g.bench_function("100x100B_batch", |b| {
        b.iter_batched(
            || records.to_vec(),
            |mut buf| black_box(log.append(&mut buf, 0).expect("append")),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("index_lookup");
    let idx_dir = tempfile::tempdir().expect("tempdir");
    let mut idx = OffsetIndex::open(&idx_dir.path().join("0.index"), 10 << 20).expect("index");
    for i in 0..100_000u32 {
        idx.append(i * 10, i * 4096 + 1);
    }
    let mut probe = 0u32;
    g.bench_function("offset_index_100k_entries", |b| {
        b.iter(|| {
            probe = probe.wrapping_add(7919) % 1_000_000;
            black_box(idx.lookup(probe))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("fetch_read");
    let end = log.log_end_offset();
    g.throughput(Throughput::Bytes(1 << 20));
    g.bench_function("1MiB_from_mid_log", |b| {
        let mut at = 0i64;
        b.iter(|| {
            at = (at + 12_345) % end.max(1);
            let slice = log.read(at).expect("read").expect("data");
            black_box(slice.read_batches(1 << 20, true).expect("bytes"))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
