//! The broker's error type and the one place that maps errors to Kafka
//! error codes: [`BrokerError`], and the coordinators' refusals it wraps
//! ([`GroupError`] for the group coordinator, [`TxnError`] for the
//! transaction coordinator). They live here, not in `group/` or `txn/`, so
//! this module imports nothing from the coordinators.
//!
//! Where Kafka's code for an error depends on the API and its version
//! (KIP-588's PRODUCER_FENCED for older clients),
//! [`BrokerError::code_for_version`] is the one function that decides;
//! handlers call it through `RequestContext::error_code`. Not here: whether
//! a response field exists at a version (the handlers encode that).

use std::sync::Arc;

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
    /// A leader epoch older than the partition's current one (or the current
    /// one asking for a change only a new epoch may bring).
    #[error("leader epoch {requested} is fenced by the current epoch {current}")]
    FencedLeaderEpoch {
        /// The partition's current leader epoch.
        current: i32,
        /// The epoch asked for.
        requested: i32,
    },
    /// A leader epoch newer than the partition's current one (this replica
    /// has not seen the change yet; the client retries).
    #[error("leader epoch {requested} is newer than the current epoch {current}")]
    UnknownLeaderEpoch {
        /// The partition's current leader epoch.
        current: i32,
        /// The epoch asked for.
        requested: i32,
    },
    /// An `acks=all` produce refused before the append: fewer in-sync
    /// replicas than `min.insync.replicas`.
    #[error("The size of the current ISR {isr} is insufficient to satisfy the min.isr requirement of {required}")]
    NotEnoughReplicas {
        /// In-sync replicas now.
        isr: usize,
        /// `min.insync.replicas`.
        required: usize,
    },
    /// An `acks=all` produce whose records were replicated to the ISR after
    /// the ISR had shrunk below `min.insync.replicas`.
    #[error("The size of the current ISR {isr} is insufficient to satisfy the min.isr requirement of {required}")]
    NotEnoughReplicasAfterAppend {
        /// In-sync replicas now.
        isr: usize,
        /// `min.insync.replicas`.
        required: usize,
    },
    /// An `acks=all` produce not replicated within the request's timeout.
    #[error("the records were not replicated within the request timeout")]
    RequestTimedOut,
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
    /// Cancelling a partition reassignment when none is under way.
    #[error("No reassignment is in progress for this partition.")]
    NoReassignmentInProgress,
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

    /// ACL APIs without an authorizer configured (SECURITY_DISABLED); the
    /// text is Kafka's message.
    #[error("{0}")]
    SecurityDisabled(String),
    /// The principal may not do this to the cluster
    /// (CLUSTER_AUTHORIZATION_FAILED).
    #[error("{0}")]
    ClusterAuthorizationFailed(String),
    /// The principal may not do this to the topic
    /// (TOPIC_AUTHORIZATION_FAILED).
    #[error("Topic authorization failed.")]
    TopicAuthorizationFailed,
    /// The principal may not do this to the group
    /// (GROUP_AUTHORIZATION_FAILED).
    #[error("Group authorization failed.")]
    GroupAuthorizationFailed,
    /// The principal may not use the transactional id
    /// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
    #[error("Transactional Id authorization failed.")]
    TransactionalIdAuthorizationFailed,
    /// Not attempted because another part of the batched request failed
    /// (OPERATION_NOT_ATTEMPTED).
    #[error("The broker did not attempt to execute this operation.")]
    OperationNotAttempted,
    /// A request names a resource (a SCRAM credential) that does not exist
    /// (RESOURCE_NOT_FOUND); the text is Kafka's message.
    #[error("{0}")]
    ResourceNotFound(String),
    /// A request names the same resource twice (DUPLICATE_RESOURCE).
    #[error("{0}")]
    DuplicateResource(String),
    /// A SCRAM credential Kafka refuses (UNACCEPTABLE_CREDENTIAL).
    #[error("{0}")]
    UnacceptableCredential(String),
    /// A SASL or SCRAM mechanism this broker does not know
    /// (UNSUPPORTED_SASL_MECHANISM).
    #[error("{0}")]
    UnsupportedSaslMechanism(String),

    /// A transaction request refused by the coordinator or a partition.
    #[error("{0}")]
    Txn(#[from] TxnError),

    /// A group request refused by the group coordinator.
    #[error("{0}")]
    Group(#[from] GroupError),

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
            BrokerError::FencedLeaderEpoch { .. } => E::FencedLeaderEpoch,
            BrokerError::UnknownLeaderEpoch { .. } => E::UnknownLeaderEpoch,
            BrokerError::NotEnoughReplicas { .. } => E::NotEnoughReplicas,
            BrokerError::NotEnoughReplicasAfterAppend { .. } => E::NotEnoughReplicasAfterAppend,
            BrokerError::RequestTimedOut => E::RequestTimedOut,
            BrokerError::CoordinatorNotAvailable => E::CoordinatorNotAvailable,
            BrokerError::InvalidTopic(_) => E::InvalidTopicException,
            BrokerError::TopicAlreadyExists(_) => E::TopicAlreadyExists,
            BrokerError::InvalidPartitions(_) => E::InvalidPartitions,
            BrokerError::InvalidReplicationFactor(_) => E::InvalidReplicationFactor,
            BrokerError::InvalidReplicaAssignment(_) => E::InvalidReplicaAssignment,
            BrokerError::NoReassignmentInProgress => E::NoReassignmentInProgress,
            BrokerError::InvalidConfig(_) => E::InvalidConfig,
            BrokerError::ConfigChangeRefused(_) => E::InvalidRequest,
            BrokerError::MessageTooLarge { .. } => E::MessageTooLarge,
            BrokerError::InvalidRequiredAcks(_) => E::InvalidRequiredAcks,
            BrokerError::InvalidRequest(_) => E::InvalidRequest,
            BrokerError::PolicyViolation(_) => E::PolicyViolation,
            BrokerError::InvalidRecord(_) | BrokerError::RecordErrors { .. } => E::InvalidRecord,
            BrokerError::Quorum(_) => E::RequestTimedOut,
            BrokerError::SecurityDisabled(_) => E::SecurityDisabled,
            BrokerError::ClusterAuthorizationFailed(_) => E::ClusterAuthorizationFailed,
            BrokerError::TopicAuthorizationFailed => E::TopicAuthorizationFailed,
            BrokerError::GroupAuthorizationFailed => E::GroupAuthorizationFailed,
            BrokerError::TransactionalIdAuthorizationFailed => {
                E::TransactionalIdAuthorizationFailed
            }
            BrokerError::OperationNotAttempted => E::OperationNotAttempted,
            BrokerError::ResourceNotFound(_) => E::ResourceNotFound,
            BrokerError::DuplicateResource(_) => E::DuplicateResource,
            BrokerError::UnacceptableCredential(_) => E::UnacceptableCredential,
            BrokerError::UnsupportedSaslMechanism(_) => E::UnsupportedSaslMechanism,
            BrokerError::Txn(t) => txn_error(*t),
            BrokerError::Group(g) => g.response_error(),
            BrokerError::VerificationFenced { .. } => E::InvalidProducerEpoch,
        }
    }

    /// The numeric Kafka error code.
    pub fn code(&self) -> i16 {
        self.response_error().code()
    }
}

/// Why a transactional request is refused (mapped to Kafka codes by
/// [`BrokerError::response_error`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TxnError {
    /// Another operation on this transaction is in progress; retry.
    #[error("a concurrent operation on this transaction is in progress")]
    ConcurrentTransactions,
    /// The request's epoch is not the current one: a newer instance exists.
    #[error("producer fenced by a newer instance with the same transactional id")]
    ProducerFenced,
    /// The producer id does not belong to this transactional id.
    #[error("producer id does not match the transactional id")]
    InvalidProducerIdMapping,
    /// The request does not fit the transaction's state.
    #[error("operation not valid in the transaction's current state")]
    InvalidTxnState,
    /// `transaction.timeout.ms` above `transaction.max.timeout.ms` or not positive.
    #[error("transaction timeout outside (0, transaction.max.timeout.ms]")]
    InvalidTransactionTimeout,
    /// This broker is not the transaction's coordinator.
    #[error("this broker is not the coordinator of the transactional id")]
    NotCoordinator,
    /// The coordinator is still loading its state.
    #[error("the transaction coordinator is loading")]
    CoordinatorLoadInProgress,
    /// No such transactional id.
    #[error("unknown transactional id")]
    TransactionalIdNotFound,
}

/// Why the group coordinator refuses a group request or one partition of
/// it. The variants are named after the Kafka errors they map to (by
/// [`BrokerError::response_error`], the only mapping).
#[derive(Debug, Clone, thiserror::Error)]
pub enum GroupError {
    /// The member id is not (or no longer) in the group.
    #[error("unknown member id")]
    UnknownMemberId,
    /// A static member's instance id is held by another member id.
    #[error("the group instance id is fenced by a newer member")]
    FencedInstanceId,
    /// The coordinator cannot take the request now (a full group).
    #[error("the group coordinator is not available")]
    CoordinatorNotAvailable,
    /// Session timeout outside the broker's group session bounds.
    #[error("session timeout outside group.min/max.session.timeout.ms")]
    InvalidSessionTimeout,
    /// The member's protocols do not match the group's.
    #[error("inconsistent group protocol")]
    InconsistentGroupProtocol,
    /// KIP-394: join again with the member id given.
    #[error("a member id is required to join")]
    MemberIdRequired,
    /// The group is rebalancing; rejoin.
    #[error("the group is rebalancing")]
    RebalanceInProgress,
    /// The generation is not the group's current one.
    #[error("illegal generation")]
    IllegalGeneration,
    /// Offset metadata longer than the broker accepts.
    #[error("offset metadata too large")]
    OffsetMetadataTooLarge,
    /// The committed partition does not exist.
    #[error("unknown topic or partition")]
    UnknownTopicOrPartition,
    /// No such group.
    #[error("group id not found")]
    GroupIdNotFound,
    /// The group has members.
    #[error("the group is not empty")]
    NonEmptyGroup,
    /// OffsetDelete of a topic the group still consumes.
    #[error("the group is subscribed to the topic")]
    GroupSubscribedToTopic,
    /// The request names no group.
    #[error("invalid group id")]
    InvalidGroupId,
    /// This broker is not the group's coordinator.
    #[error("this broker is not the coordinator of the group")]
    NotCoordinator,
    /// This broker just became the group's coordinator and is still
    /// replaying its offsets partition.
    #[error("the group coordinator is loading")]
    CoordinatorLoadInProgress,
    /// Appending to `__consumer_offsets` failed; the code is the failure's.
    #[error("not written to __consumer_offsets: {0}")]
    Write(Arc<BrokerError>),
}

/// Equal variants; two `Write` errors are equal only when they share the
/// same failure (one append failing for several partitions).
impl PartialEq for GroupError {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (GroupError::Write(a), GroupError::Write(b)) => Arc::ptr_eq(a, b),
            (GroupError::Write(_), _) | (_, GroupError::Write(_)) => false,
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl Eq for GroupError {}

/// A failed `__consumer_offsets` append; an offsets partition this node
/// no longer leads is NOT_COORDINATOR (the client finds the new one), as
/// in Kafka's group coordinator.
impl From<BrokerError> for GroupError {
    fn from(e: BrokerError) -> Self {
        match e {
            BrokerError::NotLeaderOrFollower => GroupError::NotCoordinator,
            e => GroupError::Write(Arc::new(e)),
        }
    }
}

impl GroupError {
    /// The Kafka error for this refusal (part of
    /// [`BrokerError::response_error`], the one mapping).
    pub fn response_error(&self) -> ResponseError {
        use GroupError as G;
        use ResponseError as E;
        match self {
            G::UnknownMemberId => E::UnknownMemberId,
            G::FencedInstanceId => E::FencedInstanceId,
            G::CoordinatorNotAvailable => E::CoordinatorNotAvailable,
            G::InvalidSessionTimeout => E::InvalidSessionTimeout,
            G::InconsistentGroupProtocol => E::InconsistentGroupProtocol,
            G::MemberIdRequired => E::MemberIdRequired,
            G::RebalanceInProgress => E::RebalanceInProgress,
            G::IllegalGeneration => E::IllegalGeneration,
            G::OffsetMetadataTooLarge => E::OffsetMetadataTooLarge,
            G::UnknownTopicOrPartition => E::UnknownTopicOrPartition,
            G::GroupIdNotFound => E::GroupIdNotFound,
            G::NonEmptyGroup => E::NonEmptyGroup,
            G::GroupSubscribedToTopic => E::GroupSubscribedToTopic,
            G::InvalidGroupId => E::InvalidGroupId,
            G::NotCoordinator => E::NotCoordinator,
            G::CoordinatorLoadInProgress => E::CoordinatorLoadInProgress,
            G::Write(e) => e.response_error(),
        }
    }

    /// The numeric Kafka error code.
    pub fn code(&self) -> i16 {
        self.response_error().code()
    }
}

fn txn_error(e: TxnError) -> ResponseError {
    use ResponseError as E;
    use TxnError as T;
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
        // Only a follower's append of fetched batches raises it (never a
        // client's request): its fetcher restarts from its log end.
        LogError::OffsetOutOfOrder { .. } => E::OffsetOutOfRange,
        // A duplicate is not an error on the wire: the handler answers it with
        // the original offset before it gets here.
        LogError::DuplicateSequence { .. } => E::DuplicateSequenceNumber,
        LogError::OutOfOrderSequence { .. } => E::OutOfOrderSequenceNumber,
        LogError::ProducerFenced { .. } => E::InvalidProducerEpoch,
        LogError::InvalidTxnState { .. } => E::InvalidTxnState,
    }
}

/// Version-aware codes: the one place where the code of an error depends on
/// the API and version of the request it answers.
impl BrokerError {
    /// The error code of this failure in the response to `api` at
    /// `version`: [`Self::code`], except where Kafka answers older request
    /// versions with an older code. Today that is KIP-588: PRODUCER_FENCED
    /// became its own code in InitProducerId v4, AddPartitionsToTxn v2,
    /// AddOffsetsToTxn v2, EndTxn v2 and TxnOffsetCommit v2; older versions
    /// get INVALID_PRODUCER_EPOCH, which their clients know.
    pub fn code_for_version(&self, api: kafka_protocol::messages::ApiKey, version: i16) -> i16 {
        use kafka_protocol::messages::ApiKey as A;
        match self {
            BrokerError::Txn(TxnError::ProducerFenced) => {
                let fenced_since = match api {
                    A::InitProducerId => 4,
                    A::AddPartitionsToTxn | A::AddOffsetsToTxn | A::EndTxn | A::TxnOffsetCommit => {
                        2
                    }
                    _ => 0,
                };
                if version < fenced_since {
                    ResponseError::InvalidProducerEpoch.code()
                } else {
                    self.code()
                }
            }
            e => e.code(),
        }
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
        let security = [
            (BrokerError::SecurityDisabled(String::new()), 54),
            (BrokerError::ClusterAuthorizationFailed(String::new()), 31),
            (BrokerError::ResourceNotFound(String::new()), 91),
            (BrokerError::DuplicateResource(String::new()), 92),
            (BrokerError::UnacceptableCredential(String::new()), 93),
            (BrokerError::UnsupportedSaslMechanism(String::new()), 33),
            (BrokerError::TopicAuthorizationFailed, 29),
            (BrokerError::GroupAuthorizationFailed, 30),
            (BrokerError::TransactionalIdAuthorizationFailed, 53),
            (BrokerError::OperationNotAttempted, 55),
        ];
        for (e, code) in security {
            assert_eq!(e.code(), code, "{e:?}");
        }
    }

    /// The group coordinator's refusals keep the codes the coordinator
    /// used to build itself (Kafka's numbers).
    #[test]
    fn group_errors_map_to_kafka_codes() {
        use GroupError as G;
        let pins = [
            (G::UnknownMemberId, 25),
            (G::FencedInstanceId, 82),
            (G::CoordinatorNotAvailable, 15),
            (G::InvalidSessionTimeout, 26),
            (G::InconsistentGroupProtocol, 23),
            (G::MemberIdRequired, 79),
            (G::RebalanceInProgress, 27),
            (G::IllegalGeneration, 22),
            (G::OffsetMetadataTooLarge, 12),
            (G::UnknownTopicOrPartition, 3),
            (G::GroupIdNotFound, 69),
            (G::NonEmptyGroup, 68),
            (G::GroupSubscribedToTopic, 86),
            (G::InvalidGroupId, 24),
            (G::NotCoordinator, 16),
            (G::CoordinatorLoadInProgress, 14),
        ];
        for (e, code) in pins {
            assert_eq!(e.code(), code, "{e:?}");
            assert_eq!(BrokerError::Group(e).code(), code);
        }
        let write = GroupError::from(BrokerError::Log(LogError::Io(std::io::Error::other(
            "disk",
        ))));
        assert_eq!(
            write.code(),
            56,
            "a failed append answers with its own code"
        );
        assert_eq!(write, write.clone());
    }

    #[test]
    fn txn_errors_map_to_kafka_codes() {
        use TxnError as T;
        let pins = [
            (T::ConcurrentTransactions, 51),
            (T::ProducerFenced, 90),
            (T::InvalidProducerIdMapping, 49),
            (T::InvalidTxnState, 48),
            (T::InvalidTransactionTimeout, 50),
            (T::NotCoordinator, 16),
            (T::CoordinatorLoadInProgress, 14),
            (T::TransactionalIdNotFound, 105),
        ];
        for (e, code) in pins {
            assert_eq!(BrokerError::Txn(e).code(), code, "{e:?}");
        }
    }
}
