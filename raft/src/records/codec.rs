//! The binary encoding of metadata records, used by the pre-quorum
//! `metadata.log` ([`crate::store`]).
//!
//! Encoding (all integers big-endian):
//!
//! ```text
//! record  = version:u8 (=0) type:u8 body
//! string  = len:u16 utf8
//! uuid    = 16 bytes
//! TopicCreated        (1) = topic_id:uuid name:string partitions:i32
//!                           replication_factor:i16 n:u16 (key:string value:string)*n
//! PartitionCreated    (2) = topic_id:uuid partition:i32 leader:i32 leader_epoch:i32
//!                           n:u16 replica:i32*n m:u16 isr:i32*m
//! TopicDeleted        (3) = topic_id:uuid
//! ProducerIdsAllocated(4) = next_producer_id:i64
//! TopicConfigChanged  (5) = topic_id:uuid n:u16 (key:string value:string)*n   (all overrides)
//! BrokerConfigChanged (6) = resource:string n:u16 (key:string value:string)*n
//! BrokerRegistered    (7) = node_id:i32 host:string port:i32         (old shape: rack None)
//! BrokerFenced        (8) = node_id:i32
//! BrokerUnfenced      (9) = node_id:i32
//! ClusterIdSet       (10) = cluster_id:string
//! PartitionsPlaced   (11) = topic_id:uuid first:i32 count:i32 replication_factor:i16
//!                           n:u16 (m:u16 replica:i32*m)*n fallback:i32
//! BrokerRegistered   (12) = node_id:i32 host:string port:i32 has_rack:u8 [rack:string]
//! PartitionCreated   (13) = topic_id:uuid partition:i32 leader:i32 leader_epoch:i32
//!                           partition_epoch:i32 n:u16 replica:i32*n m:u16 isr:i32*m
//! AlterPartition     (14) = topic_id:uuid partition:i32 leader:i32 leader_epoch:i32
//!                           partition_epoch:i32 n:u16 isr:i32*n
//! ElectPreferredLeader(15)= topic_id:uuid partition:i32
//! ReassignPartition  (16) = topic_id:uuid partition:i32 n:u16 target:i32*n
//! CancelReassignment (17) = topic_id:uuid partition:i32
//! PartitionReassigning(18)= topic_id:uuid partition:i32 n:u16 adding:i32*n
//!                           m:u16 removing:i32*m
//! AclCreated         (19) = id:uuid resource_type:i8 resource_name:string
//!                           pattern_type:i8 principal:string host:string
//!                           operation:i8 permission_type:i8
//! AclRemoved         (20) = id:uuid
//! ScramCredentialSet (21) = name:string mechanism:i8 salt:bytes
//!                           stored_key:bytes server_key:bytes iterations:i32
//! ScramCredentialRemoved(22) = name:string mechanism:i8
//! BrokerListeners    (23) = node_id:i32 n:u16 (listener:string host:string port:i32)*n
//! bytes   = len:u16 byte*len
//! ```
//!
//! Types 2 and 7 are older shapes, still decoded (as partition epoch 0 and
//! no rack); encoding always writes 13 and 12. In JSON (the Raft log and
//! snapshots) the fields added later default the same way when absent.
//! Types 19–23 postdate the quorum (no pre-quorum file holds them); they
//! are encoded so that every record round-trips.
//!
//! Records are framed and checksummed by [`crate::store`], not here.

use uuid::Uuid;

use super::{BrokerEndpoint, MetadataRecord};
use crate::error::MetadataError;

const VERSION: u8 = 0;

fn put_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let len = bytes.len().min(u16::MAX as usize);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&bytes[..len]);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    let len = b.len().min(u16::MAX as usize);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&b[..len]);
}

fn put_i32s(out: &mut Vec<u8>, v: &[i32]) {
    out.extend_from_slice(&(v.len().min(u16::MAX as usize) as u16).to_be_bytes());
    for x in v.iter().take(u16::MAX as usize) {
        out.extend_from_slice(&x.to_be_bytes());
    }
}

fn put_configs(out: &mut Vec<u8>, configs: &[(String, String)]) {
    out.extend_from_slice(&(configs.len().min(u16::MAX as usize) as u16).to_be_bytes());
    for (k, v) in configs.iter().take(u16::MAX as usize) {
        put_str(out, k);
        put_str(out, v);
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], MetadataError> {
        if self.0.len() < n {
            return Err(MetadataError::Decode("truncated record"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, MetadataError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, MetadataError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn i16(&mut self) -> Result<i16, MetadataError> {
        Ok(self.u16()? as i16)
    }
    fn i32(&mut self) -> Result<i32, MetadataError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64(&mut self) -> Result<i64, MetadataError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(i64::from_be_bytes(a))
    }
    fn uuid(&mut self) -> Result<Uuid, MetadataError> {
        let mut a = [0u8; 16];
        a.copy_from_slice(self.take(16)?);
        Ok(Uuid::from_bytes(a))
    }
    fn i8(&mut self) -> Result<i8, MetadataError> {
        Ok(self.u8()? as i8)
    }
    fn bytes(&mut self) -> Result<Vec<u8>, MetadataError> {
        let n = self.u16()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    fn string(&mut self) -> Result<String, MetadataError> {
        let n = self.u16()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| MetadataError::Decode("bad utf-8"))
    }
    fn configs(&mut self) -> Result<Vec<(String, String)>, MetadataError> {
        let n = self.u16()? as usize;
        let mut configs = Vec::with_capacity(n.min(self.0.len()));
        for _ in 0..n {
            configs.push((self.string()?, self.string()?));
        }
        Ok(configs)
    }
    fn i32s(&mut self) -> Result<Vec<i32>, MetadataError> {
        let n = self.u16()? as usize;
        (0..n).map(|_| self.i32()).collect()
    }
}

impl MetadataRecord {
    /// Encodes the record.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        match self {
            MetadataRecord::TopicCreated {
                topic_id,
                name,
                partitions,
                replication_factor,
                configs,
            } => {
                out.push(1);
                out.extend_from_slice(topic_id.as_bytes());
                put_str(&mut out, name);
                out.extend_from_slice(&partitions.to_be_bytes());
                out.extend_from_slice(&replication_factor.to_be_bytes());
                put_configs(&mut out, configs);
            }
            MetadataRecord::PartitionCreated {
                topic_id,
                partition,
                leader,
                leader_epoch,
                partition_epoch,
                replicas,
                isr,
            } => {
                out.push(13);
                out.extend_from_slice(topic_id.as_bytes());
                out.extend_from_slice(&partition.to_be_bytes());
                out.extend_from_slice(&leader.to_be_bytes());
                out.extend_from_slice(&leader_epoch.to_be_bytes());
                out.extend_from_slice(&partition_epoch.to_be_bytes());
                put_i32s(&mut out, replicas);
                put_i32s(&mut out, isr);
            }
            MetadataRecord::TopicDeleted { topic_id } => {
                out.push(3);
                out.extend_from_slice(topic_id.as_bytes());
            }
            MetadataRecord::ProducerIdsAllocated { next_producer_id } => {
                out.push(4);
                out.extend_from_slice(&next_producer_id.to_be_bytes());
            }
            MetadataRecord::TopicConfigChanged { topic_id, configs } => {
                out.push(5);
                out.extend_from_slice(topic_id.as_bytes());
                put_configs(&mut out, configs);
            }
            MetadataRecord::BrokerConfigChanged { resource, configs } => {
                out.push(6);
                put_str(&mut out, resource);
                put_configs(&mut out, configs);
            }
            MetadataRecord::BrokerRegistered {
                node_id,
                host,
                port,
                rack,
            } => {
                out.push(12);
                out.extend_from_slice(&node_id.to_be_bytes());
                put_str(&mut out, host);
                out.extend_from_slice(&port.to_be_bytes());
                match rack {
                    Some(rack) => {
                        out.push(1);
                        put_str(&mut out, rack);
                    }
                    None => out.push(0),
                }
            }
            MetadataRecord::AlterPartition {
                topic_id,
                partition,
                leader,
                leader_epoch,
                partition_epoch,
                isr,
            } => {
                out.push(14);
                out.extend_from_slice(topic_id.as_bytes());
                out.extend_from_slice(&partition.to_be_bytes());
                out.extend_from_slice(&leader.to_be_bytes());
                out.extend_from_slice(&leader_epoch.to_be_bytes());
                out.extend_from_slice(&partition_epoch.to_be_bytes());
                put_i32s(&mut out, isr);
            }
            MetadataRecord::ElectPreferredLeader {
                topic_id,
                partition,
            } => {
                out.push(15);
                out.extend_from_slice(topic_id.as_bytes());
                out.extend_from_slice(&partition.to_be_bytes());
            }
            MetadataRecord::ReassignPartition {
                topic_id,
                partition,
                target,
            } => {
                out.push(16);
                out.extend_from_slice(topic_id.as_bytes());
                out.extend_from_slice(&partition.to_be_bytes());
                put_i32s(&mut out, target);
            }
            MetadataRecord::CancelReassignment {
                topic_id,
                partition,
            } => {
                out.push(17);
                out.extend_from_slice(topic_id.as_bytes());
                out.extend_from_slice(&partition.to_be_bytes());
            }
            MetadataRecord::PartitionReassigning {
                topic_id,
                partition,
                adding_replicas,
                removing_replicas,
            } => {
                out.push(18);
                out.extend_from_slice(topic_id.as_bytes());
                out.extend_from_slice(&partition.to_be_bytes());
                put_i32s(&mut out, adding_replicas);
                put_i32s(&mut out, removing_replicas);
            }
            MetadataRecord::ClusterIdSet { cluster_id } => {
                out.push(10);
                put_str(&mut out, cluster_id);
            }
            MetadataRecord::PartitionsPlaced {
                topic_id,
                first,
                count,
                replication_factor,
                assignments,
                fallback,
            } => {
                out.push(11);
                out.extend_from_slice(topic_id.as_bytes());
                out.extend_from_slice(&first.to_be_bytes());
                out.extend_from_slice(&count.to_be_bytes());
                out.extend_from_slice(&replication_factor.to_be_bytes());
                out.extend_from_slice(
                    &(assignments.len().min(u16::MAX as usize) as u16).to_be_bytes(),
                );
                for a in assignments.iter().take(u16::MAX as usize) {
                    put_i32s(&mut out, a);
                }
                out.extend_from_slice(&fallback.to_be_bytes());
            }
            MetadataRecord::BrokerFenced { node_id } => {
                out.push(8);
                out.extend_from_slice(&node_id.to_be_bytes());
            }
            MetadataRecord::BrokerUnfenced { node_id } => {
                out.push(9);
                out.extend_from_slice(&node_id.to_be_bytes());
            }
            MetadataRecord::AclCreated {
                id,
                resource_type,
                resource_name,
                pattern_type,
                principal,
                host,
                operation,
                permission_type,
            } => {
                out.push(19);
                out.extend_from_slice(id.as_bytes());
                out.push(*resource_type as u8);
                put_str(&mut out, resource_name);
                out.push(*pattern_type as u8);
                put_str(&mut out, principal);
                put_str(&mut out, host);
                out.push(*operation as u8);
                out.push(*permission_type as u8);
            }
            MetadataRecord::AclRemoved { id } => {
                out.push(20);
                out.extend_from_slice(id.as_bytes());
            }
            MetadataRecord::ScramCredentialSet {
                name,
                mechanism,
                salt,
                stored_key,
                server_key,
                iterations,
            } => {
                out.push(21);
                put_str(&mut out, name);
                out.push(*mechanism as u8);
                put_bytes(&mut out, salt);
                put_bytes(&mut out, stored_key);
                put_bytes(&mut out, server_key);
                out.extend_from_slice(&iterations.to_be_bytes());
            }
            MetadataRecord::ScramCredentialRemoved { name, mechanism } => {
                out.push(22);
                put_str(&mut out, name);
                out.push(*mechanism as u8);
            }
            MetadataRecord::BrokerListeners { node_id, listeners } => {
                out.push(23);
                out.extend_from_slice(&node_id.to_be_bytes());
                let n = listeners.len().min(u16::MAX as usize);
                out.extend_from_slice(&(n as u16).to_be_bytes());
                for l in listeners.iter().take(n) {
                    put_str(&mut out, &l.listener);
                    put_str(&mut out, &l.host);
                    out.extend_from_slice(&l.port.to_be_bytes());
                }
            }
        }
        out
    }

    /// Decodes a record; trailing bytes are an error.
    pub fn decode(buf: &[u8]) -> Result<Self, MetadataError> {
        let mut r = Reader(buf);
        if r.u8()? != VERSION {
            return Err(MetadataError::Decode("unknown record version"));
        }
        let rec = match r.u8()? {
            1 => {
                let topic_id = r.uuid()?;
                let name = r.string()?;
                let partitions = r.i32()?;
                let replication_factor = r.i16()?;
                let configs = r.configs()?;
                MetadataRecord::TopicCreated {
                    topic_id,
                    name,
                    partitions,
                    replication_factor,
                    configs,
                }
            }
            2 => MetadataRecord::PartitionCreated {
                topic_id: r.uuid()?,
                partition: r.i32()?,
                leader: r.i32()?,
                leader_epoch: r.i32()?,
                partition_epoch: 0,
                replicas: r.i32s()?,
                isr: r.i32s()?,
            },
            13 => MetadataRecord::PartitionCreated {
                topic_id: r.uuid()?,
                partition: r.i32()?,
                leader: r.i32()?,
                leader_epoch: r.i32()?,
                partition_epoch: r.i32()?,
                replicas: r.i32s()?,
                isr: r.i32s()?,
            },
            3 => MetadataRecord::TopicDeleted {
                topic_id: r.uuid()?,
            },
            4 => MetadataRecord::ProducerIdsAllocated {
                next_producer_id: r.i64()?,
            },
            5 => MetadataRecord::TopicConfigChanged {
                topic_id: r.uuid()?,
                configs: r.configs()?,
            },
            6 => MetadataRecord::BrokerConfigChanged {
                resource: r.string()?,
                configs: r.configs()?,
            },
            7 => MetadataRecord::BrokerRegistered {
                node_id: r.i32()?,
                host: r.string()?,
                port: r.i32()?,
                rack: None,
            },
            12 => MetadataRecord::BrokerRegistered {
                node_id: r.i32()?,
                host: r.string()?,
                port: r.i32()?,
                rack: match r.u8()? {
                    0 => None,
                    1 => Some(r.string()?),
                    _ => return Err(MetadataError::Decode("bad rack flag")),
                },
            },
            14 => MetadataRecord::AlterPartition {
                topic_id: r.uuid()?,
                partition: r.i32()?,
                leader: r.i32()?,
                leader_epoch: r.i32()?,
                partition_epoch: r.i32()?,
                isr: r.i32s()?,
            },
            15 => MetadataRecord::ElectPreferredLeader {
                topic_id: r.uuid()?,
                partition: r.i32()?,
            },
            16 => MetadataRecord::ReassignPartition {
                topic_id: r.uuid()?,
                partition: r.i32()?,
                target: r.i32s()?,
            },
            17 => MetadataRecord::CancelReassignment {
                topic_id: r.uuid()?,
                partition: r.i32()?,
            },
            18 => MetadataRecord::PartitionReassigning {
                topic_id: r.uuid()?,
                partition: r.i32()?,
                adding_replicas: r.i32s()?,
                removing_replicas: r.i32s()?,
            },
            8 => MetadataRecord::BrokerFenced { node_id: r.i32()? },
            9 => MetadataRecord::BrokerUnfenced { node_id: r.i32()? },
            10 => MetadataRecord::ClusterIdSet {
                cluster_id: r.string()?,
            },
            11 => {
                let topic_id = r.uuid()?;
                let first = r.i32()?;
                let count = r.i32()?;
                let replication_factor = r.i16()?;
                let n = r.u16()? as usize;
                let assignments = (0..n).map(|_| r.i32s()).collect::<Result<_, _>>()?;
                MetadataRecord::PartitionsPlaced {
                    topic_id,
                    first,
                    count,
                    replication_factor,
                    assignments,
                    fallback: r.i32()?,
                }
            }
            19 => MetadataRecord::AclCreated {
                id: r.uuid()?,
                resource_type: r.i8()?,
                resource_name: r.string()?,
                pattern_type: r.i8()?,
                principal: r.string()?,
                host: r.string()?,
                operation: r.i8()?,
                permission_type: r.i8()?,
            },
            20 => MetadataRecord::AclRemoved { id: r.uuid()? },
            21 => MetadataRecord::ScramCredentialSet {
                name: r.string()?,
                mechanism: r.i8()?,
                salt: r.bytes()?,
                stored_key: r.bytes()?,
                server_key: r.bytes()?,
                iterations: r.i32()?,
            },
            22 => MetadataRecord::ScramCredentialRemoved {
                name: r.string()?,
                mechanism: r.i8()?,
            },
            23 => {
                let node_id = r.i32()?;
                let n = r.u16()? as usize;
                let mut listeners = Vec::with_capacity(n.min(r.0.len()));
                for _ in 0..n {
                    listeners.push(BrokerEndpoint {
                        listener: r.string()?,
                        host: r.string()?,
                        port: r.i32()?,
                    });
                }
                MetadataRecord::BrokerListeners { node_id, listeners }
            }
            _ => return Err(MetadataError::Decode("unknown record type")),
        };
        if !r.0.is_empty() {
            return Err(MetadataError::Decode("trailing bytes"));
        }
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<MetadataRecord> {
        let id = Uuid::from_u128(0x1234);
        vec![
            MetadataRecord::TopicCreated {
                topic_id: id,
                name: "orders".into(),
                partitions: 3,
                replication_factor: 1,
                configs: vec![("retention.ms".into(), "1000".into())],
            },
            MetadataRecord::PartitionCreated {
                topic_id: id,
                partition: 2,
                leader: 1,
                leader_epoch: 0,
                partition_epoch: 3,
                replicas: vec![1],
                isr: vec![1],
            },
            MetadataRecord::TopicDeleted { topic_id: id },
            MetadataRecord::ProducerIdsAllocated {
                next_producer_id: 5000,
            },
            MetadataRecord::BrokerConfigChanged {
                resource: String::new(),
                configs: vec![("log.retention.ms".into(), "1000".into())],
            },
            MetadataRecord::BrokerRegistered {
                node_id: 2,
                host: "127.0.0.1".into(),
                port: 9092,
                rack: None,
            },
            MetadataRecord::BrokerRegistered {
                node_id: 3,
                host: "h3".into(),
                port: 9093,
                rack: Some("eu-1a".into()),
            },
            MetadataRecord::AlterPartition {
                topic_id: id,
                partition: 2,
                leader: 1,
                leader_epoch: 4,
                partition_epoch: 7,
                isr: vec![1, 3],
            },
            MetadataRecord::ElectPreferredLeader {
                topic_id: id,
                partition: 2,
            },
            MetadataRecord::BrokerFenced { node_id: 2 },
            MetadataRecord::ReassignPartition {
                topic_id: id,
                partition: 2,
                target: vec![3, 1],
            },
            MetadataRecord::CancelReassignment {
                topic_id: id,
                partition: 2,
            },
            MetadataRecord::PartitionReassigning {
                topic_id: id,
                partition: 2,
                adding_replicas: vec![3],
                removing_replicas: vec![2],
            },
            MetadataRecord::ClusterIdSet {
                cluster_id: "abc".into(),
            },
            MetadataRecord::PartitionsPlaced {
                topic_id: id,
                first: 3,
                count: 2,
                replication_factor: 1,
                assignments: vec![vec![1], vec![2]],
                fallback: 1,
            },
            MetadataRecord::BrokerUnfenced { node_id: 2 },
            MetadataRecord::AclCreated {
                id,
                resource_type: 2,
                resource_name: "orders-".into(),
                pattern_type: 4,
                principal: "User:alice".into(),
                host: "*".into(),
                operation: 4,
                permission_type: 3,
            },
            MetadataRecord::AclRemoved { id },
            MetadataRecord::ScramCredentialSet {
                name: "alice".into(),
                mechanism: 2,
                salt: vec![1, 2, 3],
                stored_key: vec![4; 64],
                server_key: vec![5; 64],
                iterations: 8192,
            },
            MetadataRecord::ScramCredentialRemoved {
                name: "alice".into(),
                mechanism: 1,
            },
            MetadataRecord::BrokerListeners {
                node_id: 3,
                listeners: vec![
                    BrokerEndpoint {
                        listener: "SASL_SSL".into(),
                        host: "b3.example".into(),
                        port: 9093,
                    },
                    BrokerEndpoint {
                        listener: "INTERNAL".into(),
                        host: "10.0.0.3".into(),
                        port: 19092,
                    },
                ],
            },
        ]
    }

    #[test]
    fn round_trip_and_truncation() {
        for rec in samples() {
            let bytes = rec.encode();
            assert_eq!(MetadataRecord::decode(&bytes).expect("decode"), rec);
            for cut in 0..bytes.len() {
                assert!(
                    MetadataRecord::decode(&bytes[..cut]).is_err(),
                    "{rec:?} cut {cut}"
                );
            }
        }
    }

    /// Type 7 (`BrokerRegistered` without rack) and type 2
    /// (`PartitionCreated` without partition epoch), as written before those
    /// fields existed, still decode; so does their JSON in the Raft log.
    #[test]
    fn old_shapes_decode() {
        let mut reg = vec![0, 7, 0, 0, 0, 2];
        reg.extend_from_slice(&[0, 1, b'h']);
        reg.extend_from_slice(&9092i32.to_be_bytes());
        assert_eq!(
            MetadataRecord::decode(&reg).expect("old registration"),
            MetadataRecord::BrokerRegistered {
                node_id: 2,
                host: "h".into(),
                port: 9092,
                rack: None,
            }
        );
        let id = Uuid::from_u128(5);
        let mut part = vec![0, 2];
        part.extend_from_slice(id.as_bytes());
        for x in [1i32, 3, 4] {
            part.extend_from_slice(&x.to_be_bytes());
        }
        part.extend_from_slice(&[0, 2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 1, 0, 0, 0, 3]);
        let want = MetadataRecord::PartitionCreated {
            topic_id: id,
            partition: 1,
            leader: 3,
            leader_epoch: 4,
            partition_epoch: 0,
            replicas: vec![3, 1],
            isr: vec![3],
        };
        assert_eq!(MetadataRecord::decode(&part).expect("old partition"), want);
        let json = r#"{"BrokerRegistered":{"node_id":2,"host":"h","port":9092}}"#;
        assert_eq!(
            serde_json::from_str::<MetadataRecord>(json).expect("old json"),
            MetadataRecord::BrokerRegistered {
                node_id: 2,
                host: "h".into(),
                port: 9092,
                rack: None,
            }
        );
        let json = format!(
            r#"{{"PartitionCreated":{{"topic_id":"{id}","partition":1,"leader":3,"leader_epoch":4,"replicas":[3,1],"isr":[3]}}}}"#
        );
        assert_eq!(
            serde_json::from_str::<MetadataRecord>(&json).expect("old json"),
            want
        );
    }

    #[test]
    fn golden_layout() {
        let rec = MetadataRecord::ProducerIdsAllocated {
            next_producer_id: 1,
        };
        assert_eq!(rec.encode(), vec![0, 4, 0, 0, 0, 0, 0, 0, 0, 1]);
    }
}
