//! Request handlers, one file per Kafka API, and the registry that
//! dispatches to them.
//!
//! The `registry!` invocation below is the one declaration of the APIs
//! this broker serves: one line per API with its advertised version range
//! and the module whose `handle` serves it. Generated from it: [`SUPPORTED`]
//! (through [`table`]: the request decoder's check, ApiVersions' answer and
//! the metrics' label set) and [`dispatch`] (one match arm per line, each
//! decoding the body at the request's version and awaiting its handler in
//! place: no boxed future, no table of function pointers).
//!
//! Every handler has the same shape,
//! `pub async fn handle(broker: &Arc<Broker>, ctx: &RequestContext<'_>, req: XRequest) -> XResponse`,
//! with two variations: ApiVersions takes `&mut RequestContext` (it records
//! the client software on the session), and Produce returns
//! `Option<ProduceResponse>` (None for acks=0, which gets no response).
//!
//! This module is not the codec (`protocol-kafka`), not the socket
//! (`connection.rs`), and holds no rules of its own: handlers translate
//! between wire structs and the broker, the coordinators and the replica
//! manager.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Encodable, HeaderVersion};
use memorystreamer_protocol_kafka::request::{decode_body, Header};
use memorystreamer_protocol_kafka::response::encode_response;
use memorystreamer_protocol_kafka::versions::{ApiRange, ApiTable};
use memorystreamer_protocol_kafka::ProtocolError;

use crate::broker::Broker;
use crate::context::RequestContext;

mod add_offsets_to_txn;
mod add_partitions_to_txn;
mod alter_configs;
mod alter_partition_reassignments;
mod alter_user_scram_credentials;
mod api_versions;
mod create_acls;
mod create_partitions;
mod create_topics;
mod delete_acls;
mod delete_groups;
mod delete_records;
mod delete_topics;
mod describe_acls;
mod describe_client_quotas;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_log_dirs;
mod describe_producers;
mod describe_quorum;
mod describe_topic_partitions;
mod describe_transactions;
mod describe_user_scram_credentials;
mod elect_leaders;
mod end_txn;
pub(crate) mod epoch;
mod fetch;
mod find_coordinator;
mod heartbeat;
mod incremental_alter_configs;
mod init_producer_id;
mod join_group;
mod leave_group;
mod list_groups;
mod list_offsets;
mod list_partition_reassignments;
mod list_transactions;
mod metadata;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod offset_for_leader_epoch;
mod produce;
mod sasl_authenticate;
mod sasl_handshake;
mod sync_group;
mod txn_offset_commit;
mod write_txn_markers;

/// Declares the registry: `ApiKey min..=max => module`, optionally followed
/// by `(optional_reply)` for a handler returning `Option` (None: no response
/// at all) or `(fallible)` for one returning `Result<_, ProtocolError>` (Err:
/// the connection is closed, for requests Kafka fails to parse). Expands to
/// [`SUPPORTED`] and [`dispatch`].
macro_rules! registry {
    (@reply optional_reply $header:ident, $resp:expr) => {
        match $resp {
            Some(resp) => respond($header, &resp),
            None => Ok(Reply::None),
        }
    };
    (@reply fallible $header:ident, $resp:expr) => {
        respond($header, &$resp?)
    };
    (@reply $header:ident, $resp:expr) => {
        respond($header, &$resp)
    };
    ($($key:ident $min:literal ..= $max:literal => $module:ident $(($form:ident))?,)*) => {
        /// Every API served here: (key, min version, max version), in the
        /// registry's order.
        pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[$((ApiKey::$key, $min, $max)),*];

        /// Decodes the body of a request whose header has been read and
        /// runs its handler. Errors here are protocol errors (the
        /// connection is closed); per-topic failures are error codes inside
        /// the response.
        pub async fn dispatch(
            broker: &Arc<Broker>,
            ctx: &mut RequestContext<'_>,
            body: Bytes,
        ) -> Result<Reply, ProtocolError> {
            let header = ctx.header;
            match header.api_key {
                $(ApiKey::$key => {
                    let req = decode_body(header, body)?;
                    registry!(@reply $($form)? header, $module::handle(broker, ctx, req).await)
                })*
                // Not registered (the header decoder refuses these before
                // dispatch; a direct caller such as a fuzzer gets here).
                other => Err(ProtocolError::UnsupportedVersion {
                    api_key: other,
                    version: header.version(),
                    correlation_id: header.correlation_id(),
                }),
            }
        }
    };
}

// Maxima are those of the Kafka release `kafka-protocol` 0.18 describes
// (Kafka 4.1), except where its `valid_versions` lists a version its request
// structs cannot decode (OffsetCommit v10, OffsetFetch v10, InitProducerId
// v6): advertising one would close the connection of a client that picks
// it. Produce keeps minimum 0 as Kafka 4.x does for librdkafka's sake
// (KAFKA-18659), though v0–2 requests (legacy message formats) are refused.
registry! {
    Produce 0..=13 => produce (optional_reply),
    Fetch 4..=18 => fetch,
    ListOffsets 1..=10 => list_offsets,
    Metadata 0..=13 => metadata,
    ApiVersions 0..=4 => api_versions,
    SaslHandshake 0..=1 => sasl_handshake,
    SaslAuthenticate 0..=2 => sasl_authenticate,
    CreateTopics 2..=7 => create_topics,
    DeleteTopics 1..=6 => delete_topics,
    InitProducerId 0..=5 => init_producer_id,
    DescribeCluster 0..=2 => describe_cluster,
    FindCoordinator 0..=6 => find_coordinator,
    JoinGroup 0..=9 => join_group,
    SyncGroup 0..=5 => sync_group,
    Heartbeat 0..=4 => heartbeat,
    LeaveGroup 0..=5 => leave_group,
    OffsetCommit 2..=9 => offset_commit,
    OffsetFetch 1..=9 => offset_fetch,
    ListGroups 0..=5 => list_groups,
    DescribeGroups 0..=6 => describe_groups,
    DeleteGroups 0..=2 => delete_groups,
    OffsetDelete 0..=0 => offset_delete,
    CreatePartitions 0..=3 => create_partitions,
    DescribeConfigs 1..=4 => describe_configs,
    AlterConfigs 0..=2 => alter_configs,
    IncrementalAlterConfigs 0..=1 => incremental_alter_configs,
    DeleteRecords 0..=2 => delete_records,
    OffsetForLeaderEpoch 2..=4 => offset_for_leader_epoch,
    DescribeLogDirs 1..=4 => describe_log_dirs,
    DescribeTopicPartitions 0..=0 => describe_topic_partitions,
    AddPartitionsToTxn 0..=5 => add_partitions_to_txn,
    AddOffsetsToTxn 0..=4 => add_offsets_to_txn,
    EndTxn 0..=5 => end_txn,
    WriteTxnMarkers 1..=1 => write_txn_markers,
    TxnOffsetCommit 0..=5 => txn_offset_commit,
    DescribeProducers 0..=0 => describe_producers,
    DescribeTransactions 0..=0 => describe_transactions,
    ListTransactions 0..=2 => list_transactions,
    DescribeQuorum 0..=2 => describe_quorum,
    ElectLeaders 0..=2 => elect_leaders,
    AlterPartitionReassignments 0..=1 => alter_partition_reassignments,
    ListPartitionReassignments 0..=0 => list_partition_reassignments,
    DescribeAcls 1..=3 => describe_acls (fallible),
    CreateAcls 1..=3 => create_acls (fallible),
    DeleteAcls 1..=3 => delete_acls (fallible),
    DescribeUserScramCredentials 0..=0 => describe_user_scram_credentials,
    AlterUserScramCredentials 0..=0 => alter_user_scram_credentials,
    DescribeClientQuotas 0..=1 => describe_client_quotas,
}

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

pub use crate::util::{repeated, sb};
pub use api_versions::unsupported_version;
