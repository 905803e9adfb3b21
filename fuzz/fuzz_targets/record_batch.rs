//! Fuzzes RecordBatch v2 validation (what Produce runs on untrusted bytes)
//! and the batch iterator the log uses on its own files. Nothing may panic,
//! and a batch that validates must re-validate after offset assignment.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memorystreamer_log::batch::{assign_offset, BatchHeader, Batches};
use memorystreamer_protocol_kafka::records::validate_produce_records;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = validate_produce_records(data) {
        let mut copy = data.to_vec();
        assign_offset(&mut copy, 12345, 7);
        let again = BatchHeader::validate(&copy).expect("offset assignment keeps a batch valid");
        assert_eq!(again.records_count, h.records_count);
    }
    for item in Batches::new(data) {
        if item.is_err() {
            break;
        }
    }
});
