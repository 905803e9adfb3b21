//! Transaction-marker routing: writing a transaction's COMMIT or ABORT
//! markers to each of its partitions, locally or with WriteTxnMarkers to
//! the partition's leader. The transaction coordinator asks for it (through
//! the host interface in `crate::coordinator`); this module does not decide
//! when a transaction ends.

use std::time::Duration;

use tracing::warn;

use super::Broker;
use crate::coordinator::OFFSETS_TOPIC;
use crate::error::BrokerError;

impl Broker {
    /// Writes a COMMIT or ABORT marker for `producer_id` into a local
    /// partition, and lets the group coordinator settle transactional
    /// offset commits when it is an offsets partition.
    pub fn write_txn_marker(
        &self,
        topic: &str,
        partition: i32,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        coordinator_epoch: i32,
    ) -> Result<(), BrokerError> {
        let p = self.local_partition(topic, partition)?;
        let kind = if commit {
            memorystreamer_log::ControlType::Commit
        } else {
            memorystreamer_log::ControlType::Abort
        };
        let batch = memorystreamer_log::txn::marker_batch(
            producer_id,
            epoch,
            kind,
            coordinator_epoch,
            crate::now_ms(),
        );
        match p.append_control(&batch) {
            Ok(_) => {}
            Err(BrokerError::Log(memorystreamer_log::LogError::ProducerFenced { .. })) => {
                // A newer epoch already wrote here: this transaction was
                // ended by a later marker; nothing is left to end (Kafka
                // likewise stops sending on INVALID_PRODUCER_EPOCH).
                warn!(
                    topic,
                    partition,
                    producer_id,
                    epoch,
                    "transaction marker fenced by a newer epoch; skipped"
                );
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        crate::metrics::txn_marker(commit);
        if topic == OFFSETS_TOPIC {
            self.groups.complete_txn(partition, producer_id, commit);
        }
        Ok(())
    }

    /// Writes the markers of a transaction to every partition in it: local
    /// ones directly, the others with WriteTxnMarkers to their leaders.
    /// Partitions of deleted topics are skipped.
    pub async fn write_txn_markers(
        &self,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        partitions: &std::collections::BTreeSet<(String, i32)>,
    ) -> Result<(), BrokerError> {
        use kafka_protocol::messages::write_txn_markers_request::{
            WritableTxnMarker, WritableTxnMarkerTopic,
        };
        use kafka_protocol::messages::{
            ApiKey, TopicName, WriteTxnMarkersRequest, WriteTxnMarkersResponse,
        };
        let image = self.metadata();
        let mut remote: std::collections::BTreeMap<i32, std::collections::BTreeSet<(String, i32)>> =
            std::collections::BTreeMap::new();
        for (topic, index) in partitions {
            let Some(t) = image.topic(topic) else {
                continue;
            };
            let Some(leader) = usize::try_from(*index)
                .ok()
                .and_then(|i| t.partitions.get(i))
                .map(|p| p.leader)
            else {
                continue;
            };
            if leader == self.config.node_id {
                match self.write_txn_marker(
                    topic,
                    *index,
                    producer_id,
                    epoch,
                    commit,
                    crate::txn::COORDINATOR_EPOCH,
                ) {
                    Ok(()) => {}
                    Err(BrokerError::UnknownTopicOrPartition) => {}
                    Err(e) => return Err(e),
                }
            } else {
                remote
                    .entry(leader)
                    .or_default()
                    .insert((topic.clone(), *index));
            }
        }
        for (node, parts) in remote {
            let (host, port) = image
                .broker(node)
                .filter(|b| !b.fenced)
                .and_then(|b| b.endpoint(&self.config.inter_broker_listener))
                .ok_or(BrokerError::NotLeaderOrFollower)?;
            let topics = crate::txn::by_topic(&parts)
                .into_iter()
                .map(|(t, ps)| {
                    WritableTxnMarkerTopic::default()
                        .with_name(TopicName(crate::util::sb(&t)))
                        .with_partition_indexes(ps)
                })
                .collect();
            let req =
                WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
                    .with_producer_id(kafka_protocol::messages::ProducerId(producer_id))
                    .with_producer_epoch(epoch)
                    .with_transaction_result(commit)
                    .with_coordinator_epoch(crate::txn::COORDINATOR_EPOCH)
                    .with_topics(topics)]);
            let resp: WriteTxnMarkersResponse = crate::interbroker::call(
                &self.dialer,
                host,
                port,
                ApiKey::WriteTxnMarkers,
                1,
                &req,
                Duration::from_secs(10),
            )
            .await?;
            for m in &resp.markers {
                for t in &m.topics {
                    for p in &t.partitions {
                        let e = kafka_protocol::ResponseError::try_from_code(p.error_code);
                        match e {
                            None | Some(kafka_protocol::ResponseError::UnknownTopicOrPartition) => {
                            }
                            Some(e) => {
                                return Err(BrokerError::InvalidRequest(format!(
                                    "WriteTxnMarkers to node {node} failed for {}-{}: {e:?}",
                                    t.name.as_str(),
                                    p.partition_index
                                )))
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
