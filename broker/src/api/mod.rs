//! Request handlers, one file per Kafka API, and the single dispatch point.
//!
//! [`SUPPORTED`] is the one table of APIs and version ranges: the request
//! decoder rejects anything outside it, ApiVersions advertises exactly it,
//! and [`dispatch`] has one arm per entry.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Encodable, HeaderVersion};
use memorystreamer_protocol_kafka::request::{decode_body, Header};
use memorystreamer_protocol_kafka::response::encode_response;
use memorystreamer_protocol_kafka::versions::{ApiRange, ApiTable};
use memorystreamer_protocol_kafka::ProtocolError;

use crate::broker::Broker;

mod alter_configs;
mod api_versions;
mod create_partitions;
mod create_topics;
mod delete_groups;
mod delete_records;
mod delete_topics;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_log_dirs;
mod describe_quorum;
mod describe_topic_partitions;
mod fetch;
mod find_coordinator;
mod heartbeat;
mod incremental_alter_configs;
mod init_producer_id;
mod join_group;
mod leave_group;
mod list_groups;
mod list_offsets;
mod metadata;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod offset_for_leader_epoch;
mod produce;
mod sync_group;
mod transactions;

/// Supported APIs: (key, min version, max version). Maxima are those of the
/// Kafka release `kafka-protocol` 0.18 describes (Kafka 4.1), except where
/// its `valid_versions` lists a version its request structs cannot decode
/// (OffsetCommit v10, OffsetFetch v10, InitProducerId v6): advertising one
/// would close the connection of a client that picks it. Produce keeps
/// minimum 0 as Kafka 4.x does for librdkafka's sake (KAFKA-18659), though
/// v0–2 requests (legacy message formats) are refused.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 0, 13),
    (ApiKey::Fetch, 4, 18),
    (ApiKey::ListOffsets, 1, 10),
    (ApiKey::Metadata, 0, 13),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::InitProducerId, 0, 5),
    (ApiKey::DescribeCluster, 0, 2),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 9),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::DescribeGroups, 0, 6),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::DescribeLogDirs, 1, 4),
    (ApiKey::DescribeTopicPartitions, 0, 0),
    (ApiKey::AddPartitionsToTxn, 0, 5),
    (ApiKey::AddOffsetsToTxn, 0, 4),
    (ApiKey::EndTxn, 0, 5),
    (ApiKey::WriteTxnMarkers, 1, 1),
    (ApiKey::TxnOffsetCommit, 0, 5),
    (ApiKey::DescribeProducers, 0, 0),
    (ApiKey::DescribeTransactions, 0, 0),
    (ApiKey::ListTransactions, 0, 2),
    (ApiKey::DescribeQuorum, 0, 2),
];

/// The supported-API table in codec form.
pub fn api_table() -> ApiTable {
    ApiTable::new(
        SUPPORTED
            .iter()
            .map(|(api_key, min, max)| ApiRange {
                api_key: *api_key,
                min: (*min).max(if *api_key == ApiKey::Produce {
                    0
                } else {
                    api_key.valid_versions().min
                }),
                max: (*max).min(api_key.valid_versions().max),
            })
            .collect(),
    )
}

/// The table, built once.
pub fn table() -> &'static ApiTable {
    static TABLE: OnceLock<ApiTable> = OnceLock::new();
    TABLE.get_or_init(api_table)
}

/// Per-connection facts handlers may need.
#[derive(Debug, Default, Clone)]
pub struct Session {
    /// The client's address.
    pub peer: Option<std::net::SocketAddr>,
    /// Client software name (KIP-511), once ApiVersions v3+ told us.
    pub client_software_name: Option<String>,
    /// Client software version (KIP-511).
    pub client_software_version: Option<String>,
}

impl Session {
    /// The client host as Kafka reports it in DescribeGroups ("/1.2.3.4").
    pub fn client_host(&self) -> String {
        self.peer
            .map(|p| format!("/{}", p.ip()))
            .unwrap_or_default()
    }
}

/// What a handler produced.
pub enum Reply {
    /// An encoded response frame.
    Frame(Bytes),
    /// No response at all (Produce with acks=0).
    None,
}

fn respond<T: Encodable + HeaderVersion>(
    header: &Header,
    body: &T,
) -> Result<Reply, ProtocolError> {
    encode_response(
        header.api_key,
        header.version(),
        header.correlation_id(),
        body,
    )
    .map(Reply::Frame)
}

/// Decodes the body of a request whose header has been read and runs its
/// handler. Errors here are protocol errors (the connection is closed);
/// per-topic failures are error codes inside the response.
pub async fn dispatch(
    broker: &Arc<Broker>,
    session: &mut Session,
    header: &Header,
    body: Bytes,
) -> Result<Reply, ProtocolError> {
    match header.api_key {
        ApiKey::Produce => produce::handle(broker, header, decode_body(header, body)?).await,
        ApiKey::Fetch => fetch::handle(broker, header, decode_body(header, body)?).await,
        ApiKey::ListOffsets => respond(
            header,
            &list_offsets::handle(broker, header, decode_body(header, body)?),
        ),
        ApiKey::Metadata => respond(
            header,
            &metadata::handle(broker, header, decode_body(header, body)?).await,
        ),
        ApiKey::ApiVersions => api_versions::handle(broker, session, header, body),
        ApiKey::CreateTopics => respond(
            header,
            &create_topics::handle(broker, header, decode_body(header, body)?).await,
        ),
        ApiKey::DeleteTopics => respond(
            header,
            &delete_topics::handle(broker, header, decode_body(header, body)?).await,
        ),
        ApiKey::InitProducerId => respond(
            header,
            &init_producer_id::handle(broker, header, decode_body(header, body)?).await,
        ),
        ApiKey::DescribeCluster => respond(
            header,
            &describe_cluster::handle(broker, decode_body(header, body)?),
        ),
        ApiKey::CreatePartitions => respond(
            header,
            &create_partitions::handle(broker, decode_body(header, body)?).await,
        ),
        ApiKey::DescribeConfigs => respond(
            header,
            &describe_configs::handle(broker, header, decode_body(header, body)?),
        ),
        ApiKey::AlterConfigs => respond(
            header,
            &alter_configs::handle(broker, decode_body(header, body)?).await,
        ),
        ApiKey::IncrementalAlterConfigs => respond(
            header,
            &incremental_alter_configs::handle(broker, decode_body(header, body)?).await,
        ),
        ApiKey::DeleteRecords => respond(
            header,
            &delete_records::handle(broker, decode_body(header, body)?),
        ),
        ApiKey::OffsetForLeaderEpoch => respond(
            header,
            &offset_for_leader_epoch::handle(broker, decode_body(header, body)?),
        ),
        ApiKey::DescribeLogDirs => respond(
            header,
            &describe_log_dirs::handle(broker, decode_body(header, body)?),
        ),
        ApiKey::DescribeTopicPartitions => respond(
            header,
            &describe_topic_partitions::handle(broker, decode_body(header, body)?),
        ),
        ApiKey::FindCoordinator => respond(
            header,
            &find_coordinator::handle(broker, header, decode_body(header, body)?).await,
        ),
        ApiKey::JoinGroup => respond(
            header,
            &join_group::handle(broker, header, session, decode_body(header, body)?).await,
        ),
        ApiKey::SyncGroup => respond(
            header,
            &sync_group::handle(broker, header, decode_body(header, body)?).await,
        ),
        ApiKey::Heartbeat => respond(
            header,
            &heartbeat::handle(broker, decode_body(header, body)?),
        ),
        ApiKey::LeaveGroup => respond(
            header,
            &leave_group::handle(broker, header, decode_body(header, body)?),
        ),
        ApiKey::OffsetCommit => respond(
            header,
            &offset_commit::handle(broker, header, decode_body(header, body)?),
        ),
        ApiKey::OffsetFetch => respond(
            header,
            &offset_fetch::handle(broker, header, decode_body(header, body)?),
        ),
        ApiKey::ListGroups => respond(
            header,
            &list_groups::handle(broker, decode_body(header, body)?),
        ),
        ApiKey::DescribeGroups => respond(
            header,
            &describe_groups::handle(broker, header, decode_body(header, body)?),
        ),
        ApiKey::DeleteGroups => respond(
            header,
            &delete_groups::handle(broker, decode_body(header, body)?),
        ),
        ApiKey::OffsetDelete => respond(
            header,
            &offset_delete::handle(broker, decode_body(header, body)?),
        ),
        ApiKey::AddPartitionsToTxn => respond(
            header,
            &transactions::add_partitions(broker, header, decode_body(header, body)?),
        ),
        ApiKey::AddOffsetsToTxn => respond(
            header,
            &transactions::add_offsets(broker, header, decode_body(header, body)?).await,
        ),
        ApiKey::EndTxn => respond(
            header,
            &transactions::end_txn(broker, header, decode_body(header, body)?).await,
        ),
        ApiKey::WriteTxnMarkers => respond(
            header,
            &transactions::write_markers(broker, decode_body(header, body)?),
        ),
        ApiKey::TxnOffsetCommit => respond(
            header,
            &transactions::txn_offset_commit(broker, header, decode_body(header, body)?).await,
        ),
        ApiKey::DescribeProducers => respond(
            header,
            &transactions::describe_producers(broker, decode_body(header, body)?),
        ),
        ApiKey::DescribeTransactions => respond(
            header,
            &transactions::describe_transactions(broker, decode_body(header, body)?),
        ),
        ApiKey::ListTransactions => respond(
            header,
            &transactions::list_transactions(broker, header, decode_body(header, body)?),
        ),
        ApiKey::DescribeQuorum => respond(
            header,
            &describe_quorum::handle(broker, header, decode_body(header, body)?).await,
        ),
        other => Err(ProtocolError::UnsupportedVersion {
            api_key: other,
            version: header.version(),
            correlation_id: header.correlation_id(),
        }),
    }
}

pub use crate::util::{repeated, sb};
