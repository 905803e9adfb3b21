//! The one table of the APIs the harness knows, and what is generated from
//! it: each API's default request frame, the request decoding `dispatch`
//! does, and the response decoding that checks an answer. A new API gets
//! one line here (and a generator arm in `requests.rs` or `groups.rs`).
//!
//! Not the broker's own table of supported versions (`api::SUPPORTED`),
//! which the harness reads to know what to fuzz.

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Decodable;
use memorystreamer_protocol_kafka::request::{decode_body, Header};
use memorystreamer_protocol_kafka::ProtocolError;

use super::fields::frame;

/// Generates `default_frame`, `decode_request` and `decode_response` from
/// one `Api: Request, Response;` line per API.
macro_rules! apis {
    ($($api:ident: $req:ty, $resp:ty;)+) => {
        /// The default request of `api` at `version` (every field at its
        /// default), when it encodes there.
        pub fn default_frame(api: ApiKey, version: i16, correlation_id: i32) -> Option<Bytes> {
            match api {
                $(ApiKey::$api => frame(api, version, correlation_id, &<$req>::default()),)+
                _ => None,
            }
        }

        /// Decodes a request body of `api` the way `dispatch` does.
        pub fn decode_request(
            api: ApiKey,
            header: &Header,
            body: Bytes,
        ) -> Result<(), ProtocolError> {
            match api {
                $(ApiKey::$api => decode_body::<$req>(header, body).map(drop),)+
                other => Err(ProtocolError::UnknownApiKey {
                    api_key: other as i16,
                    correlation_id: 7,
                }),
            }
        }

        /// Decodes a response body of `api` (kafka-protocol's `ResponseKind`
        /// needs a feature the workspace does not enable).
        pub fn decode_response(api: ApiKey, body: &mut Bytes, version: i16) -> anyhow::Result<()> {
            match api {
                $(ApiKey::$api => <$resp>::decode(body, version).map(drop),)+
                other => anyhow::bail!("the harness has no decoder for {other:?}"),
            }
        }
    };
}

apis! {
    Produce: ProduceRequest, ProduceResponse;
    Fetch: FetchRequest, FetchResponse;
    ListOffsets: ListOffsetsRequest, ListOffsetsResponse;
    Metadata: MetadataRequest, MetadataResponse;
    ApiVersions: ApiVersionsRequest, ApiVersionsResponse;
    CreateTopics: CreateTopicsRequest, CreateTopicsResponse;
    DeleteTopics: DeleteTopicsRequest, DeleteTopicsResponse;
    InitProducerId: InitProducerIdRequest, InitProducerIdResponse;
    DescribeCluster: DescribeClusterRequest, DescribeClusterResponse;
    FindCoordinator: FindCoordinatorRequest, FindCoordinatorResponse;
    JoinGroup: JoinGroupRequest, JoinGroupResponse;
    SyncGroup: SyncGroupRequest, SyncGroupResponse;
    Heartbeat: HeartbeatRequest, HeartbeatResponse;
    LeaveGroup: LeaveGroupRequest, LeaveGroupResponse;
    OffsetCommit: OffsetCommitRequest, OffsetCommitResponse;
    OffsetFetch: OffsetFetchRequest, OffsetFetchResponse;
    ListGroups: ListGroupsRequest, ListGroupsResponse;
    DescribeGroups: DescribeGroupsRequest, DescribeGroupsResponse;
    DeleteGroups: DeleteGroupsRequest, DeleteGroupsResponse;
    OffsetDelete: OffsetDeleteRequest, OffsetDeleteResponse;
    CreatePartitions: CreatePartitionsRequest, CreatePartitionsResponse;
    DescribeConfigs: DescribeConfigsRequest, DescribeConfigsResponse;
    AlterConfigs: AlterConfigsRequest, AlterConfigsResponse;
    IncrementalAlterConfigs: IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse;
    DeleteRecords: DeleteRecordsRequest, DeleteRecordsResponse;
    OffsetForLeaderEpoch: OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse;
    DescribeLogDirs: DescribeLogDirsRequest, DescribeLogDirsResponse;
    DescribeTopicPartitions: DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse;
    AddPartitionsToTxn: AddPartitionsToTxnRequest, AddPartitionsToTxnResponse;
    AddOffsetsToTxn: AddOffsetsToTxnRequest, AddOffsetsToTxnResponse;
    EndTxn: EndTxnRequest, EndTxnResponse;
    WriteTxnMarkers: WriteTxnMarkersRequest, WriteTxnMarkersResponse;
    TxnOffsetCommit: TxnOffsetCommitRequest, TxnOffsetCommitResponse;
    DescribeProducers: DescribeProducersRequest, DescribeProducersResponse;
    DescribeTransactions: DescribeTransactionsRequest, DescribeTransactionsResponse;
    ListTransactions: ListTransactionsRequest, ListTransactionsResponse;
    DescribeQuorum: DescribeQuorumRequest, DescribeQuorumResponse;
    ElectLeaders: ElectLeadersRequest, ElectLeadersResponse;
    AlterPartitionReassignments: AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse;
    ListPartitionReassignments: ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse;
    SaslHandshake: SaslHandshakeRequest, SaslHandshakeResponse;
    SaslAuthenticate: SaslAuthenticateRequest, SaslAuthenticateResponse;
    DescribeAcls: DescribeAclsRequest, DescribeAclsResponse;
    CreateAcls: CreateAclsRequest, CreateAclsResponse;
    DeleteAcls: DeleteAclsRequest, DeleteAclsResponse;
    DescribeUserScramCredentials: DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse;
    AlterUserScramCredentials: AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse;
    DescribeClientQuotas: DescribeClientQuotasRequest, DescribeClientQuotasResponse;
}
