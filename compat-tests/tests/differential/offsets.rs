//! ListOffsets answers after the same produce (earliest, latest, by
//! timestamp, max timestamp, read_committed) and DeleteRecords, including
//! deleting beyond the high watermark.

use memorystreamer_compat_tests::differential::wire::{record_batch, ProducerFields};

use super::requests::*;
use super::Side;

/// Earliest (-2), latest (-1), max timestamp (-3) and timestamp queries.
pub fn list_offsets_answers(side: &mut Side) {
    let mut c = side.client();
    create_topic(&mut c, "lo", 2, &[]);
    for (label, ts) in [
        ("earliest", -2),
        ("latest", -1),
        ("max_timestamp", -3),
        ("ts_0", 0),
    ] {
        let r = list_offsets(&mut c, "lo", &[(0, ts)], 0);
        side.rec.answer(&format!("empty.{label}"), &r);
    }
    // Batch 1: timestamps 1000..1040; batch 2: 500, 3000, 2000 (out of
    // order: the max timestamp is not the last record).
    let r = produce_plain(&mut c, "lo", 0, 5, 1_000);
    side.rec.answer("produce_1", &r);
    let r = produce(
        &mut c,
        "lo",
        0,
        record_batch(
            &[
                (Some(b"k1"), b"v1", 500),
                (Some(b"k2"), b"v2", 3_000),
                (None, b"v3", 2_000),
            ],
            ProducerFields::NONE,
        ),
        None,
    );
    side.rec.answer("produce_2", &r);
    let queries: &[(&str, i64)] = &[
        ("earliest", -2),
        ("latest", -1),
        ("max_timestamp", -3),
        ("ts_0", 0),
        ("ts_600", 600),
        ("ts_1000", 1_000),
        ("ts_1015", 1_015),
        ("ts_1040", 1_040),
        ("ts_1041", 1_041),
        ("ts_2000", 2_000),
        ("ts_2500", 2_500),
        ("ts_3000", 3_000),
        ("ts_3001", 3_001),
    ];
    for (label, ts) in queries {
        let r = list_offsets(&mut c, "lo", &[(0, *ts)], 0);
        side.rec.answer(label, &r);
    }
    let r = list_offsets(&mut c, "lo", &[(0, -1), (1, -3)], 1);
    side.rec.answer("read_committed", &r);
    // The same partition twice in one request.
    let r = list_offsets(&mut c, "lo", &[(0, -1), (0, -2)], 0);
    side.rec.answer("duplicate_partition", &r);
    let r = list_offsets(&mut c, "lo", &[(0, -7)], 0);
    side.rec.answer("unknown_special_timestamp", &r);
}

/// DeleteRecords below, at and beyond the high watermark, then what
/// ListOffsets and Fetch say.
pub fn delete_records_answers(side: &mut Side) {
    let mut c = side.client();
    create_topic(&mut c, "dr", 1, &[]);
    let r = produce_plain(&mut c, "dr", 0, 5, 1_000);
    side.rec.answer("produce", &r);
    let r = delete_records(&mut c, "dr", 0, 2);
    side.rec.answer("delete_to_2", &r);
    let r = delete_records(&mut c, "dr", 0, 1);
    side.rec.answer("delete_to_1_below_start", &r);
    let r = delete_records(&mut c, "dr", 0, 6);
    side.rec.answer("delete_beyond_high_watermark", &r);
    let r = delete_records(&mut c, "dr", 0, -2);
    side.rec.answer("delete_to_minus_2", &r);
    let r = delete_records(&mut c, "dr", 3, 1);
    side.rec.answer("delete_unknown_partition", &r);
    let r = delete_records(&mut c, "dr-unknown", 0, 1);
    side.rec.answer("delete_unknown_topic", &r);
    for (label, ts) in [("earliest", -2), ("latest", -1)] {
        let r = list_offsets(&mut c, "dr", &[(0, ts)], 0);
        side.rec.answer(&format!("after_delete_to_2.{label}"), &r);
    }
    let r = fetch(&mut c, "dr", 0, 1);
    side.rec.answer("fetch_below_start", &r);
    let r = delete_records(&mut c, "dr", 0, -1);
    side.rec.answer("delete_to_high_watermark", &r);
    for (label, ts) in [
        ("earliest", -2),
        ("latest", -1),
        ("max_timestamp", -3),
        ("ts_0", 0),
    ] {
        let r = list_offsets(&mut c, "dr", &[(0, ts)], 0);
        side.rec.answer(&format!("after_delete_all.{label}"), &r);
    }
    let r = fetch(&mut c, "dr", 0, 5);
    side.rec.answer("fetch_at_end", &r);
}
