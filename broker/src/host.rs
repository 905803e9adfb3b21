//! The broker as the coordinators' host: [`Broker`] implements the narrow
//! traits of [`crate::coordinator`] by calling its own components (hosted
//! partitions, metadata image, producer-id blocks, marker fan-out), and a
//! partition leader asks a transaction coordinator, here or on another
//! node, whether a transactional batch belongs to an open transaction
//! ([`verify_in_transaction`], KIP-890).
//!
//! This is the only module that sees both `Broker` and the coordinators'
//! traits; `group/` and `txn/` never import the broker.
//!
//! Not here: the coordinators' logic (`group/`, `txn/`), the marker
//! fan-out itself (`Broker::write_txn_markers`), routing a client to its
//! coordinator (FindCoordinator).

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use crate::broker::Broker;
use crate::coordinator::{InternalLog, MetadataView, ProducerIds, TxnMarkers};
use crate::error::{BrokerError, TxnError};
use crate::replica::partition::Partition;

impl InternalLog for Broker {
    fn internal_partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        self.replicas.partition(topic, index)
    }

    fn internal_partitions(&self, topic: &str) -> Vec<Arc<Partition>> {
        self.replicas
            .topic(topic)
            .map(|t| t.partitions.iter().flatten().cloned().collect())
            .unwrap_or_default()
    }
}

impl MetadataView for Broker {
    fn partition_exists(&self, topic: &str, index: i32) -> bool {
        self.cache.partition_exists(topic, index)
    }
}

impl ProducerIds for Broker {
    fn next_producer_id(&self) -> impl Future<Output = Result<i64, BrokerError>> + Send {
        self.allocate_producer_id()
    }
}

impl TxnMarkers for Broker {
    fn write_markers(
        &self,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        partitions: &BTreeSet<(String, i32)>,
    ) -> impl Future<Output = Result<(), BrokerError>> + Send {
        self.write_txn_markers(producer_id, epoch, commit, partitions)
    }
}

/// KIP-890: asks the coordinator whether `topic-index` is in the open
/// transaction of this producer.
pub async fn verify_in_transaction(
    broker: &Arc<Broker>,
    txn_id: &str,
    producer_id: i64,
    epoch: i16,
    topic: &str,
    index: i32,
) -> Result<(), BrokerError> {
    use kafka_protocol::messages::add_partitions_to_txn_request::{
        AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
    };
    use kafka_protocol::messages::{
        AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey, ProducerId, TopicName,
        TransactionalId,
    };
    let tp = (topic.to_string(), index);
    let (node, host, port) = broker
        .txn_coordinator(txn_id, &broker.config.inter_broker_listener)
        .await?;
    if node == broker.config.node_id {
        return broker.txn().verify(broker, txn_id, producer_id, epoch, &tp);
    }
    let req = AddPartitionsToTxnRequest::default().with_transactions(vec![
        AddPartitionsToTxnTransaction::default()
            .with_transactional_id(TransactionalId(crate::util::sb(txn_id)))
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(epoch)
            .with_verify_only(true)
            .with_topics(vec![AddPartitionsToTxnTopic::default()
                .with_name(TopicName(crate::util::sb(topic)))
                .with_partitions(vec![index])]),
    ]);
    let resp: AddPartitionsToTxnResponse = crate::interbroker::call(
        &broker.dialer,
        &host,
        port,
        ApiKey::AddPartitionsToTxn,
        4,
        &req,
        std::time::Duration::from_secs(10),
    )
    .await?;
    let code = resp
        .results_by_transaction
        .iter()
        .flat_map(|t| &t.topic_results)
        .flat_map(|t| &t.results_by_partition)
        .map(|p| p.partition_error_code)
        .find(|c| *c != 0)
        .unwrap_or(resp.error_code);
    match kafka_protocol::ResponseError::try_from_code(code) {
        None => Ok(()),
        Some(kafka_protocol::ResponseError::ProducerFenced)
        | Some(kafka_protocol::ResponseError::InvalidProducerEpoch) => {
            Err(TxnError::ProducerFenced.into())
        }
        Some(kafka_protocol::ResponseError::InvalidProducerIdMapping) => {
            Err(TxnError::InvalidProducerIdMapping.into())
        }
        Some(kafka_protocol::ResponseError::NotCoordinator)
        | Some(kafka_protocol::ResponseError::CoordinatorNotAvailable) => {
            Err(BrokerError::NotLeaderOrFollower)
        }
        Some(_) => Err(TxnError::InvalidTxnState.into()),
    }
}
