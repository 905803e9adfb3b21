//! Kafka's record schemas for `__consumer_offsets`, so that admin tools and
//! consoles reading that topic understand what we store.
//!
//! ```text
//! key   = version:i16 ...
//!   version 0/1  OffsetCommitKey    = group:string topic:string partition:i32
//!   version 2    GroupMetadataKey   = group:string
//! value = version:i16 ...
//!   OffsetCommitValue v3  = offset:i64 leader_epoch:i32 metadata:string commit_timestamp:i64
//!   OffsetCommitValue v1  = offset:i64 metadata:string commit_timestamp:i64 expire_timestamp:i64
//!   GroupMetadataValue v3 = protocol_type:string generation:i32 protocol:nullable_string
//!                           leader:nullable_string current_state_timestamp:i64
//!                           members:[member_id:string group_instance_id:nullable_string
//!                                    client_id:string client_host:string
//!                                    rebalance_timeout:i32 session_timeout:i32
//!                                    subscription:bytes assignment:bytes]
//! a null value is a tombstone (offset or group deleted)
//! ```
//!
//! Strings are i16-length-prefixed, bytes i32-length-prefixed, big-endian,
//! as in the classic (non-flexible) Kafka encoding. Only the versions Kafka
//! writes today are written; v0–v3 values are all readable.

use bytes::{BufMut, Bytes, BytesMut};

/// A decoded `__consumer_offsets` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffsetsKey {
    /// A committed offset.
    Offset {
        /// Group id.
        group: String,
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
    },
    /// A group's metadata.
    Group {
        /// Group id.
        group: String,
    },
}

/// A committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetValue {
    /// Next offset to consume.
    pub offset: i64,
    /// Leader epoch of the committed record, -1 when unknown.
    pub leader_epoch: i32,
    /// Client metadata string (round-trips through OffsetFetch).
    pub metadata: String,
    /// When it was committed (ms since epoch).
    pub commit_timestamp: i64,
}

/// One member as stored in group metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMember {
    /// Member id.
    pub member_id: String,
    /// Static instance id (KIP-345).
    pub group_instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Rebalance timeout in ms.
    pub rebalance_timeout_ms: i32,
    /// Session timeout in ms.
    pub session_timeout_ms: i32,
    /// Subscription metadata of the selected protocol.
    pub subscription: Bytes,
    /// Assignment.
    pub assignment: Bytes,
}

/// A group's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupValue {
    /// Protocol type ("consumer", "connect", ...).
    pub protocol_type: String,
    /// Generation.
    pub generation: i32,
    /// Selected protocol (assignor).
    pub protocol: Option<String>,
    /// Leader member id.
    pub leader: Option<String>,
    /// When the group entered its state (ms since epoch).
    pub current_state_timestamp: i64,
    /// Members.
    pub members: Vec<StoredMember>,
}

pub(crate) fn put_str(b: &mut BytesMut, s: &str) {
    let bytes = s.as_bytes();
    let n = bytes.len().min(i16::MAX as usize);
    b.put_i16(n as i16);
    b.put_slice(&bytes[..n]);
}

pub(crate) fn put_nullable_str(b: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => put_str(b, s),
        None => b.put_i16(-1),
    }
}

fn put_bytes(b: &mut BytesMut, v: &[u8]) {
    b.put_i32(v.len() as i32);
    b.put_slice(v);
}

/// Error for undecodable `__consumer_offsets` records.
#[derive(Debug, thiserror::Error)]
#[error("undecodable __consumer_offsets record: {0}")]
pub struct RecordError(pub(crate) &'static str);

/// A cursor over a record key or value in the classic encoding.
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl Reader<'_> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&[u8], RecordError> {
        if self.0.len() < n {
            return Err(RecordError("truncated"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    pub(crate) fn i8(&mut self) -> Result<i8, RecordError> {
        Ok(self.take(1)?[0] as i8)
    }
    pub(crate) fn i16(&mut self) -> Result<i16, RecordError> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    pub(crate) fn i32(&mut self) -> Result<i32, RecordError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn i64(&mut self) -> Result<i64, RecordError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(i64::from_be_bytes(a))
    }
    pub(crate) fn nullable_str(&mut self) -> Result<Option<String>, RecordError> {
        let n = self.i16()?;
        if n < 0 {
            return Ok(None);
        }
        String::from_utf8(self.take(n as usize)?.to_vec())
            .map(Some)
            .map_err(|_| RecordError("bad utf-8"))
    }
    pub(crate) fn str(&mut self) -> Result<String, RecordError> {
        self.nullable_str()?.ok_or(RecordError("null string"))
    }
    pub(crate) fn bytes(&mut self) -> Result<Bytes, RecordError> {
        let n = self.i32()?;
        if n < 0 {
            return Ok(Bytes::new());
        }
        Ok(Bytes::copy_from_slice(self.take(n as usize)?))
    }
}

impl OffsetsKey {
    /// Encodes the key (version 1 for offsets, 2 for groups).
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        match self {
            OffsetsKey::Offset {
                group,
                topic,
                partition,
            } => {
                b.put_i16(1);
                put_str(&mut b, group);
                put_str(&mut b, topic);
                b.put_i32(*partition);
            }
            OffsetsKey::Group { group } => {
                b.put_i16(2);
                put_str(&mut b, group);
            }
        }
        b.freeze()
    }

    /// Decodes a key; `Ok(None)` for key versions this broker does not use
    /// (e.g. transaction-era or future records), which are skipped.
    pub fn decode(buf: &[u8]) -> Result<Option<Self>, RecordError> {
        let mut r = Reader(buf);
        Ok(match r.i16()? {
            0 | 1 => Some(OffsetsKey::Offset {
                group: r.str()?,
                topic: r.str()?,
                partition: r.i32()?,
            }),
            2 => Some(OffsetsKey::Group { group: r.str()? }),
            _ => None,
        })
    }
}

impl OffsetValue {
    /// Encodes as OffsetCommitValue v3.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        b.put_i16(3);
        b.put_i64(self.offset);
        b.put_i32(self.leader_epoch);
        put_str(&mut b, &self.metadata);
        b.put_i64(self.commit_timestamp);
        b.freeze()
    }

    /// Decodes OffsetCommitValue v0–v3.
    pub fn decode(buf: &[u8]) -> Result<Self, RecordError> {
        let mut r = Reader(buf);
        let version = r.i16()?;
        let offset = r.i64()?;
        let leader_epoch = if version >= 3 { r.i32()? } else { -1 };
        let metadata = r.str()?;
        let commit_timestamp = r.i64()?;
        Ok(OffsetValue {
            offset,
            leader_epoch,
            metadata,
            commit_timestamp,
        })
    }
}

impl GroupValue {
    /// Encodes as GroupMetadataValue v3.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        b.put_i16(3);
        put_str(&mut b, &self.protocol_type);
        b.put_i32(self.generation);
        put_nullable_str(&mut b, self.protocol.as_deref());
        put_nullable_str(&mut b, self.leader.as_deref());
        b.put_i64(self.current_state_timestamp);
        b.put_i32(self.members.len() as i32);
        for m in &self.members {
            put_str(&mut b, &m.member_id);
            put_nullable_str(&mut b, m.group_instance_id.as_deref());
            put_str(&mut b, &m.client_id);
            put_str(&mut b, &m.client_host);
            b.put_i32(m.rebalance_timeout_ms);
            b.put_i32(m.session_timeout_ms);
            put_bytes(&mut b, &m.subscription);
            put_bytes(&mut b, &m.assignment);
        }
        b.freeze()
    }

    /// Decodes GroupMetadataValue v0–v3.
    pub fn decode(buf: &[u8]) -> Result<Self, RecordError> {
        let mut r = Reader(buf);
        let version = r.i16()?;
        if !(0..=3).contains(&version) {
            return Err(RecordError("unknown group metadata version"));
        }
        let protocol_type = r.str()?;
        let generation = r.i32()?;
        let protocol = r.nullable_str()?;
        let leader = r.nullable_str()?;
        let current_state_timestamp = if version >= 2 { r.i64()? } else { -1 };
        let n = r.i32()?;
        // A member takes at least 18 bytes (three empty strings, a session
        // timeout and two empty byte arrays): never reserve for more.
        if n < 0 || n as usize > r.0.len() / 18 {
            return Err(RecordError("bad member count"));
        }
        let mut members = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let member_id = r.str()?;
            let group_instance_id = if version >= 3 {
                r.nullable_str()?
            } else {
                None
            };
            let client_id = r.str()?;
            let client_host = r.str()?;
            let rebalance_timeout_ms = if version >= 1 { r.i32()? } else { -1 };
            let session_timeout_ms = r.i32()?;
            let subscription = r.bytes()?;
            let assignment = r.bytes()?;
            members.push(StoredMember {
                member_id,
                group_instance_id,
                client_id,
                client_host,
                rebalance_timeout_ms: if rebalance_timeout_ms < 0 {
                    session_timeout_ms
                } else {
                    rebalance_timeout_ms
                },
                session_timeout_ms,
                subscription,
                assignment,
            });
        }
        Ok(GroupValue {
            protocol_type,
            generation,
            protocol,
            leader,
            current_state_timestamp,
            members,
        })
    }
}

/// Kafka's partition for a group: `abs(groupId.hashCode) % partitions`, with
/// Java's `String.hashCode` over UTF-16 code units.
pub fn partition_for(group: &str, partitions: i32) -> i32 {
    let mut h: i32 = 0;
    for unit in group.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(i32::from(unit));
    }
    // Kafka's Utils.abs maps i32::MIN to 0.
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let k = OffsetsKey::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 3,
        };
        assert_eq!(OffsetsKey::decode(&k.encode()).expect("decode"), Some(k));
        let k = OffsetsKey::Group { group: "g".into() };
        assert_eq!(OffsetsKey::decode(&k.encode()).expect("decode"), Some(k));
        let v = OffsetValue {
            offset: 42,
            leader_epoch: 0,
            metadata: "meta".into(),
            commit_timestamp: 7,
        };
        assert_eq!(OffsetValue::decode(&v.encode()).expect("decode"), v);
        let g = GroupValue {
            protocol_type: "consumer".into(),
            generation: 5,
            protocol: Some("range".into()),
            leader: Some("m1".into()),
            current_state_timestamp: 9,
            members: vec![StoredMember {
                member_id: "m1".into(),
                group_instance_id: Some("i1".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout_ms: 300_000,
                session_timeout_ms: 45_000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        let enc = g.encode();
        assert_eq!(GroupValue::decode(&enc).expect("decode"), g);
        for cut in 0..enc.len() {
            assert!(GroupValue::decode(&enc[..cut]).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn golden_offset_key_layout() {
        let k = OffsetsKey::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 1,
        };
        assert_eq!(&k.encode()[..], &[0, 1, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 1]);
    }

    #[test]
    fn partition_matches_java_hash() {
        // "abc".hashCode() == 96354 in Java; 96354 % 50 == 4.
        assert_eq!(partition_for("abc", 50), 4);
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE: Utils.abs → 0.
        assert_eq!(partition_for("polygenelubricants", 50), 0);
        assert_eq!(partition_for("", 50), 0);
    }
}
