//! Kafka's record schemas for `__transaction_state`, so tools reading the
//! topic understand it.
//!
//! ```text
//! key   = version:i16 (=0) transactional_id:string
//! value = version:i16 (=0) producer_id:i64 producer_epoch:i16
//!         transaction_timeout_ms:i32 transaction_status:i8
//!         transaction_partitions:nullable [topic:string partition_ids:[i32]]
//!         transaction_last_update_timestamp_ms:i64
//!         transaction_start_timestamp_ms:i64
//! a null value is a tombstone (transactional id expired)
//! ```
//!
//! Version 1 values (flexible, KIP-890 part 2) are not written and are
//! reported as undecodable: this broker does not offer transaction version 2.

use std::collections::BTreeSet;

use bytes::{BufMut, Bytes, BytesMut};

use super::state::{TxnMetadata, TxnState};
use crate::group::records::{put_str, Reader, RecordError};

/// The key of a transactional id.
pub fn encode_key(transactional_id: &str) -> Bytes {
    let mut b = BytesMut::with_capacity(4 + transactional_id.len());
    b.put_i16(0);
    put_str(&mut b, transactional_id);
    b.freeze()
}

/// The transactional id of a key.
pub fn decode_key(buf: &[u8]) -> Result<String, RecordError> {
    let mut r = Reader(buf);
    if r.i16()? != 0 {
        return Err(RecordError("unknown __transaction_state key version"));
    }
    r.str()
}

/// The value for `meta`.
pub fn encode_value(meta: &TxnMetadata) -> Bytes {
    let mut b = BytesMut::with_capacity(64 + meta.partitions.len() * 24);
    b.put_i16(0);
    b.put_i64(meta.producer_id);
    b.put_i16(meta.epoch);
    b.put_i32(meta.timeout_ms);
    b.put_i8(meta.state.code());
    // Partitions grouped by topic, in order.
    let mut topics: Vec<(&str, Vec<i32>)> = Vec::new();
    for (t, p) in &meta.partitions {
        match topics.last_mut() {
            Some((last, ps)) if *last == t.as_str() => ps.push(*p),
            _ => topics.push((t.as_str(), vec![*p])),
        }
    }
    b.put_i32(topics.len() as i32);
    for (t, ps) in topics {
        put_str(&mut b, t);
        b.put_i32(ps.len() as i32);
        for p in ps {
            b.put_i32(p);
        }
    }
    b.put_i64(meta.update_ms);
    b.put_i64(meta.start_ms);
    b.freeze()
}

/// The metadata stored for `transactional_id`.
pub fn decode_value(transactional_id: &str, buf: &[u8]) -> Result<TxnMetadata, RecordError> {
    let mut r = Reader(buf);
    if r.i16()? != 0 {
        return Err(RecordError("unsupported __transaction_state value version"));
    }
    let producer_id = r.i64()?;
    let epoch = r.i16()?;
    let timeout_ms = r.i32()?;
    let state = TxnState::from_code(r.i8()?).ok_or(RecordError("unknown transaction status"))?;
    let mut partitions = BTreeSet::new();
    let topics = r.i32()?;
    for _ in 0..topics.max(0) {
        let topic = r.str()?;
        let n = r.i32()?;
        if n < 0 || n as usize > r.0.len() / 4 {
            return Err(RecordError("bad partition count"));
        }
        for _ in 0..n {
            partitions.insert((topic.clone(), r.i32()?));
        }
    }
    let update_ms = r.i64()?;
    let start_ms = r.i64()?;
    Ok(TxnMetadata {
        transactional_id: transactional_id.to_string(),
        producer_id,
        epoch,
        last_epoch: -1,
        timeout_ms,
        state,
        partitions,
        start_ms,
        update_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_golden_layout() {
        let mut m = super::super::state::with_new_producer_id("tx", 42, 60_000, 5);
        m.state = TxnState::Ongoing;
        m.partitions.insert(("a".into(), 1));
        m.partitions.insert(("a".into(), 0));
        m.partitions.insert(("b".into(), 3));
        m.start_ms = 4;
        let v = encode_value(&m);
        assert_eq!(decode_value("tx", &v).expect("decodes"), m);
        // version 0, pid 42, epoch 0, timeout 60000, status 1, 2 topics.
        assert_eq!(&v[..2], &[0, 0]);
        assert_eq!(&v[2..10], &42i64.to_be_bytes());
        assert_eq!(v[16], 1);
        assert_eq!(&v[17..21], &2i32.to_be_bytes());
        assert_eq!(&encode_key("tx")[..], &[0, 0, 0, 2, b't', b'x']);
        assert_eq!(decode_key(&encode_key("tx")).expect("key"), "tx");
        for cut in 0..v.len() {
            assert!(decode_value("tx", &v[..cut]).is_err(), "cut {cut}");
        }
    }
}
