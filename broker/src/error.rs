//! The broker's error type and the one place that maps errors to Kafka
//! error codes.

use kafka_protocol::ResponseError;
use memorystreamer_log::LogError;
use memorystreamer_protocol_kafka::ProtocolError;
use memorystreamer_raft::MetadataError;

/// Everything a broker operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// Invalid configuration (start-up only).
    #[error("configuration error: {0}")]
    Config(String),
    /// File-system or socket failure.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// From the segment log.
    #[error(transparent)]
    Log(#[from] LogError),
    /// From the Kafka codec.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// From the metadata store.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// Topic or partition not hosted here.
    #[error("unknown topic or partition")]
    UnknownTopicOrPartition,
    /// The partition is hosted by another broker.
    #[error("this broker is not the leader of the partition")]
    NotLeaderOrFollower,
    /// No live coordinator for the group right now.
    #[error("the group coordinator is not available")]
    CoordinatorNotAvailable,
    /// Unknown topic id.
    #[error("unknown topic id")]
    UnknownTopicId,
    /// Illegal topic name.
    #[error("invalid topic: {0}")]
    InvalidTopic(String),
    /// Topic exists already.
    #[error("Topic '{0}' already exists.")]
    TopicAlreadyExists(String),
    /// Bad partition count.
    #[error("invalid partitions: {0}")]
    InvalidPartitions(String),
    /// Bad replication factor.
    #[error("invalid replication factor: {0}")]
    InvalidReplicationFactor(String),
    /// Bad manual replica assignment.
    #[error("invalid replica assignment: {0}")]
    InvalidReplicaAssignment(String),
    /// Bad topic config.
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    /// A dynamic broker config change Kafka refuses with INVALID_REQUEST
    /// (key not dynamic, wrong level, bad value); the text is Kafka's message.
    #[error("{0}")]
    ConfigChangeRefused(String),
    /// A batch above `max.message.bytes`.
    #[error("record batch of {size} bytes exceeds max.message.bytes {max}")]
    MessageTooLarge {
        /// Batch size.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// Bad `acks` value.
    #[error("invalid required acks {0}")]
    InvalidRequiredAcks(i16),
    /// Records the topic does not accept (e.g. no key on a compacted topic).
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// Individual records of a batch the topic refuses (KIP-467): the
    /// batch's position of each, with why. Produce v8+ names them in
    /// `record_errors`, so a client fails only those records.
    #[error("{message}")]
    RecordErrors {
        /// The partition-level message.
        message: String,
        /// (position in the batch, reason) of each refused record.
        records: Vec<(i32, String)>,
    },
    /// The metadata quorum could not commit a change (no leader in time).
    #[error("metadata quorum unavailable: {0}")]
    Quorum(String),
    /// A request Kafka's controller refuses by policy (too many partitions
    /// in one request, more partitions than a broker can open).
    #[error("policy violation: {0}")]
    PolicyViolation(String),
    /// A request the broker understands but cannot serve as asked.
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// A transaction request refused by the coordinator or a partition.
    #[error("{0}")]
    Txn(#[from] crate::txn::state::TxnError),

    /// A transactional batch whose verification (KIP-890) found its epoch
    /// fenced by a newer one: INVALID_PRODUCER_EPOCH, as Kafka's partition
    /// leader answers (its AddPartitionsToTxnManager turns PRODUCER_FENCED
    /// into it; clients treat both as fatal).
    #[error(
        "producer {producer_id} epoch {epoch} is fenced by a newer epoch of its transactional id"
    )]
    VerificationFenced {
        /// Producer id of the batch.
        producer_id: i64,
        /// Epoch in the batch.
        epoch: i16,
    },
}

impl BrokerError {
    /// The Kafka error for this failure. This is the only mapping from
    /// internal errors to wire error codes.
    pub fn response_error(&self) -> ResponseError {
        use ResponseError as E;
        match self {
            BrokerError::Config(_) | BrokerError::Io(_) | BrokerError::Metadata(_) => {
                E::KafkaStorageError
            }
            BrokerError::Log(e) => log_error(e),
            BrokerError::Protocol(e) => match e {
                ProtocolError::InvalidRecords(l) => log_error(l),
                ProtocolError::BatchCount(_) => E::InvalidRecord,
                ProtocolError::UnsupportedVersion { .. } => E::UnsupportedVersion,
                ProtocolError::RecordDecode(_) => E::CorruptMessage,
                _ => E::InvalidRequest,
            },
            BrokerError::UnknownTopicOrPartition => E::UnknownTopicOrPartition,
            BrokerError::UnknownTopicId => E::UnknownTopicId,
            BrokerError::NotLeaderOrFollower => E::NotLeaderOrFollower,
            BrokerError::CoordinatorNotAvailable => E::CoordinatorNotAvailable,
            BrokerError::InvalidTopic(_) => E::InvalidTopicException,
            BrokerError::TopicAlreadyExists(_) => E::TopicAlreadyExists,
            BrokerError::InvalidPartitions(_) => E::InvalidPartitions,
            BrokerError::InvalidReplicationFactor(_) => E::InvalidReplicationFactor,
            BrokerError::InvalidReplicaAssignment(_) => E::InvalidReplicaAssignment,
            BrokerError::InvalidConfig(_) => E::InvalidConfig,
            BrokerError::ConfigChangeRefused(_) => E::InvalidRequest,
            BrokerError::MessageTooLarge { .. } => E::MessageTooLarge,
            BrokerError::InvalidRequiredAcks(_) => E::InvalidRequiredAcks,
            BrokerError::InvalidRequest(_) => E::InvalidRequest,
            BrokerError::PolicyViolation(_) => E::PolicyViolation,
            BrokerError::InvalidRecord(_) | BrokerError::RecordErrors { .. } => E::InvalidRecord,
            BrokerError::Quorum(_) => E::RequestTimedOut,
            BrokerError::Txn(t) => txn_error(*t),
            BrokerError::VerificationFenced { .. } => E::InvalidProducerEpoch,
        }
    }

    /// The numeric Kafka error code.
    pub fn code(&self) -> i16 {
        self.response_error().code()
    }
}

fn txn_error(e: crate::txn::state::TxnError) -> ResponseError {
    use crate::txn::state::TxnError as T;
    use ResponseError as E;
    match e {
        T::ConcurrentTransactions => E::ConcurrentTransactions,
        T::ProducerFenced => E::ProducerFenced,
        T::InvalidProducerIdMapping => E::InvalidProducerIdMapping,
        T::InvalidTxnState => E::InvalidTxnState,
        T::InvalidTransactionTimeout => E::InvalidTransactionTimeout,
        T::NotCoordinator => E::NotCoordinator,
        T::CoordinatorLoadInProgress => E::CoordinatorLoadInProgress,
        T::TransactionalIdNotFound => E::TransactionalIdNotFound,
    }
}

fn log_error(e: &LogError) -> ResponseError {
    use ResponseError as E;
    match e {
        LogError::Io(_) | LogError::Corrupt { .. } => E::KafkaStorageError,
        // A batch damaged on disk: Kafka's CorruptRecordException.
        LogError::CrcMismatch { .. }
        | LogError::Truncated { .. }
        | LogError::InvalidLength(_)
        | LogError::CorruptBatch { .. } => E::CorruptMessage,
        // Kafka answers a v3+ produce with a magic 0/1 batch (or a malformed
        // layout) with INVALID_RECORD (ProduceRequest.validateRecords).
        LogError::Codec(_) => E::CorruptMessage,
        LogError::UnsupportedMagic(_)
        | LogError::InvalidRecord(_)
        | LogError::InvalidRecordCount(_)
        | LogError::InvalidBatchLayout(_) => E::InvalidRecord,
        LogError::OffsetOutOfRange { .. } => E::OffsetOutOfRange,
        // A duplicate is not an error on the wire: the handler answers it with
        // the original offset before it gets here.
        LogError::DuplicateSequence { .. } => E::DuplicateSequenceNumber,
        LogError::OutOfOrderSequence { .. } => E::OutOfOrderSequenceNumber,
        LogError::ProducerFenced { .. } => E::InvalidProducerEpoch,
        LogError::InvalidTxnState { .. } => E::InvalidTxnState,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_kafka() {
        assert_eq!(BrokerError::UnknownTopicOrPartition.code(), 3);
        assert_eq!(
            BrokerError::Log(LogError::CrcMismatch {
                stored: 1,
                computed: 2
            })
            .code(),
            2
        );
        assert_eq!(BrokerError::Log(LogError::UnsupportedMagic(1)).code(), 87);
        assert_eq!(
            BrokerError::Log(LogError::OutOfOrderSequence {
                producer_id: 1,
                expected: 1,
                got: 3
            })
            .code(),
            45
        );
        assert_eq!(BrokerError::MessageTooLarge { size: 2, max: 1 }.code(), 10);
        assert_eq!(BrokerError::InvalidTopic("x".into()).code(), 17);
    }
}
