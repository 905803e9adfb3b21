//! The catalogue of bad requests: topic management errors, produce and
//! fetch errors, and idempotent-producer sequence/epoch errors. Every
//! response is recorded whole (error codes, messages and all other fields).

use kafka_protocol::messages::*;
use memorystreamer_compat_tests::differential::wire::{
    record_batch, topic_name, Answer, ProducerFields, RecordSpec,
};

use super::requests::*;
use super::Side;

/// CreateTopics / Metadata / DeleteTopics with invalid input.
pub fn topic_errors(side: &mut Side) {
    let mut c = side.client();
    let long = "a".repeat(250);
    let longest = "b".repeat(249);
    let cases: Vec<(&str, create_topics_request::CreatableTopic)> = vec![
        ("partitions_0", creatable("te-p0", 0, 1, &[])),
        ("partitions_minus_2", creatable("te-pm2", -2, 1, &[])),
        ("replication_0", creatable("te-r0", 1, 0, &[])),
        ("replication_3", creatable("te-r3", 1, 3, &[])),
        ("replication_minus_2", creatable("te-rm2", 1, -2, &[])),
        (
            "unknown_config",
            creatable("te-uc", 1, 1, &[("no.such.config", "1")]),
        ),
        (
            "bad_cleanup_policy",
            creatable("te-cp", 1, 1, &[("cleanup.policy", "bogus")]),
        ),
        (
            "bad_retention_ms",
            creatable("te-rm", 1, 1, &[("retention.ms", "abc")]),
        ),
        (
            "negative_segment_bytes",
            creatable("te-sb", 1, 1, &[("segment.bytes", "-1")]),
        ),
        ("name_empty", creatable("", 1, 1, &[])),
        ("name_dot", creatable(".", 1, 1, &[])),
        ("name_dotdot", creatable("..", 1, 1, &[])),
        ("name_250_chars", creatable(&long, 1, 1, &[])),
        ("name_slash", creatable("a/b", 1, 1, &[])),
        ("name_space", creatable("a b", 1, 1, &[])),
        ("name_249_chars", creatable(&longest, 1, 1, &[])),
        // Created with default partitions and replication (-1, -1).
        ("defaults", creatable("te-defaults", -1, -1, &[])),
    ];
    for (label, topic) in cases {
        let r = create_topics(&mut c, vec![topic], false);
        side.rec.answer(&format!("create.{label}"), &r);
    }
    create_topic(&mut c, "te-exists", 2, &[]);
    let r = create_topics(&mut c, vec![creatable("te-exists", 1, 1, &[])], false);
    side.rec.answer("create.already_exists", &r);
    let r = create_topics(
        &mut c,
        vec![creatable("te-validate", 3, 1, &[("retention.ms", "1000")])],
        true,
    );
    side.rec.answer("create.validate_only", &r);
    // Validation only: the topic must not exist afterwards.
    let r = metadata(&mut c, &["te-validate", "te-unknown", "te-exists"]);
    side.rec.answer("metadata.after_validate_only", &r);
    let r = metadata(&mut c, &["bad/name"]);
    side.rec.answer("metadata.invalid_name", &r);
    // One request naming a topic twice.
    let r = create_topics(
        &mut c,
        vec![
            creatable("te-dup", 1, 1, &[]),
            creatable("te-dup", 1, 1, &[]),
        ],
        false,
    );
    side.rec.answer("create.duplicate_in_request", &r);

    let del = DeleteTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topic_names(vec![topic_name("te-unknown")]);
    let r: Answer<DeleteTopicsResponse> = c.call(ApiKey::DeleteTopics, 5, &del);
    side.rec.answer("delete.unknown", &r);
}

/// Produce, Fetch and ListOffsets on unknown topics and partitions,
/// oversized records, offsets out of range.
pub fn produce_fetch_errors(side: &mut Side) {
    let mut c = side.client();
    create_topic(&mut c, "pf", 1, &[]);
    create_topic(&mut c, "pf-small", 1, &[("max.message.bytes", "1024")]);

    let r = produce_plain(&mut c, "pf-unknown", 0, 1, 1_000);
    side.rec.answer("produce.unknown_topic", &r);
    let r = produce_plain(&mut c, "pf", 5, 1, 1_000);
    side.rec.answer("produce.unknown_partition", &r);
    let r = produce_plain(&mut c, "pf", 0, 3, 1_000);
    side.rec.answer("produce.ok", &r);
    let big = vec![b'x'; 2_000];
    let r = produce(
        &mut c,
        "pf-small",
        0,
        record_batch(&[(None, &big, 1_000)], ProducerFields::NONE),
        None,
    );
    side.rec.answer("produce.too_large", &r);
    let small = vec![b'y'; 100];
    let r = produce(
        &mut c,
        "pf-small",
        0,
        record_batch(&[(None, &small, 1_000)], ProducerFields::NONE),
        None,
    );
    side.rec.answer("produce.fits", &r);

    let r = fetch(&mut c, "pf-unknown", 0, 0);
    side.rec.answer("fetch.unknown_topic", &r);
    let r = fetch(&mut c, "pf", 3, 0);
    side.rec.answer("fetch.unknown_partition", &r);
    let r = fetch(&mut c, "pf", 0, 0);
    side.rec.answer("fetch.ok", &r);
    let r = fetch(&mut c, "pf", 0, 3);
    side.rec.answer("fetch.at_high_watermark", &r);
    let r = fetch(&mut c, "pf", 0, 4);
    side.rec.answer("fetch.beyond_high_watermark", &r);
    let r = fetch(&mut c, "pf", 0, -5);
    side.rec.answer("fetch.negative_offset", &r);

    let r = list_offsets(&mut c, "pf-unknown", &[(0, -1)], 0);
    side.rec.answer("list_offsets.unknown_topic", &r);
    let r = list_offsets(&mut c, "pf", &[(7, -1)], 0);
    side.rec.answer("list_offsets.unknown_partition", &r);
    let r = list_offsets(&mut c, "pf", &[(-1, -1)], 0);
    side.rec.answer("list_offsets.negative_partition", &r);
}

fn idempotent(pid: i64, epoch: i16, seq: i32) -> ProducerFields {
    ProducerFields {
        producer_id: pid,
        producer_epoch: epoch,
        base_sequence: seq,
        transactional: false,
    }
}

/// An idempotent producer: duplicate and out-of-order sequences, epoch
/// bumps and stale epochs, a producer id the broker never handed out.
pub fn idempotence_errors(side: &mut Side) {
    let mut c = side.client();
    create_topic(&mut c, "idem", 1, &[]);
    let r = init_producer_id(&mut c, None);
    side.rec.answer("init_producer_id", &r);
    let pid = r.expect_response("InitProducerId").producer_id.0;

    let rec3: Vec<RecordSpec> = vec![
        (None, b"a", 1_000),
        (None, b"b", 1_001),
        (None, b"c", 1_002),
    ];
    let send = |c: &mut _, f: ProducerFields| produce(c, "idem", 0, record_batch(&rec3, f), None);

    let r = send(&mut c, idempotent(pid, 0, 0));
    side.rec.answer("seq_0", &r);
    let r = send(&mut c, idempotent(pid, 0, 0));
    side.rec.answer("duplicate_seq_0", &r);
    let r = send(&mut c, idempotent(pid, 0, 3));
    side.rec.answer("seq_3", &r);
    let r = send(&mut c, idempotent(pid, 0, 0));
    side.rec.answer("duplicate_older_seq_0", &r);
    let r = send(&mut c, idempotent(pid, 0, 10));
    side.rec.answer("gap_seq_10", &r);
    let r = send(&mut c, idempotent(pid, 1, 5));
    side.rec.answer("new_epoch_seq_5", &r);
    let r = send(&mut c, idempotent(pid, 1, 0));
    side.rec.answer("new_epoch_seq_0", &r);
    let r = send(&mut c, idempotent(pid, 0, 6));
    side.rec.answer("stale_epoch", &r);
    let r = send(&mut c, idempotent(pid + 1_000_000, 0, 7));
    side.rec.answer("unknown_producer_seq_7", &r);
    let r = send(&mut c, idempotent(pid + 1_000_000, 0, 0));
    side.rec.answer("unknown_producer_seq_0", &r);
    let r = fetch(&mut c, "idem", 0, 0);
    side.rec.answer("fetch_all", &r);
    // A transactional batch from an idempotent (non-transactional) producer.
    let r = produce(
        &mut c,
        "idem",
        0,
        record_batch(
            &rec3,
            ProducerFields {
                transactional: true,
                ..idempotent(pid, 1, 3)
            },
        ),
        Some("no-such-txn"),
    );
    side.rec.answer("transactional_batch_unknown_txn_id", &r);
}
