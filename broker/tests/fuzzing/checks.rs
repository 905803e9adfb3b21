//! How the harness judges an answer: response frames decoded back with
//! kafka-protocol's decoders, request bodies decoded as `dispatch` does, and
//! which requests may legitimately keep a handler waiting.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Decodable;
use memorystreamer_protocol_kafka::request::{decode_body, Header};
use memorystreamer_protocol_kafka::ProtocolError;

/// Checks a response frame: size prefix, header (v0 for ApiVersions), the
/// correlation id, and a body that decodes as the API's response at this
/// version with nothing left over.
pub fn check_response(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    frame: &Bytes,
) -> Result<(), String> {
    if frame.len() < 4 {
        return Err(format!("response frame of {} bytes", frame.len()));
    }
    let size = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
    if size < 0 || size as usize != frame.len() - 4 {
        return Err(format!(
            "size prefix {size} but {} bytes follow",
            frame.len() - 4
        ));
    }
    let mut body = frame.slice(4..);
    let header_version = if api == ApiKey::ApiVersions {
        0
    } else {
        api.response_header_version(version)
    };
    let header = ResponseHeader::decode(&mut body, header_version)
        .map_err(|e| format!("response header does not decode: {e}"))?;
    if header.correlation_id != correlation_id {
        return Err(format!(
            "correlation id {} answered with {}",
            correlation_id, header.correlation_id
        ));
    }
    decode_response(api, &mut body, version)
        .map_err(|e| format!("response body does not decode as {api:?} v{version}: {e}"))?;
    if !body.is_empty() {
        return Err(format!("{} bytes after the response body", body.len()));
    }
    Ok(())
}

/// Decodes a response body of `api` (kafka-protocol's `ResponseKind` needs
/// a feature the workspace does not enable).
pub fn decode_response(api: ApiKey, body: &mut Bytes, version: i16) -> anyhow::Result<()> {
    macro_rules! d {
        ($t:ty) => {
            <$t>::decode(body, version).map(drop)
        };
    }
    match api {
        ApiKey::Produce => d!(ProduceResponse),
        ApiKey::Fetch => d!(FetchResponse),
        ApiKey::ListOffsets => d!(ListOffsetsResponse),
        ApiKey::Metadata => d!(MetadataResponse),
        ApiKey::ApiVersions => d!(ApiVersionsResponse),
        ApiKey::CreateTopics => d!(CreateTopicsResponse),
        ApiKey::DeleteTopics => d!(DeleteTopicsResponse),
        ApiKey::InitProducerId => d!(InitProducerIdResponse),
        ApiKey::DescribeCluster => d!(DescribeClusterResponse),
        ApiKey::FindCoordinator => d!(FindCoordinatorResponse),
        ApiKey::JoinGroup => d!(JoinGroupResponse),
        ApiKey::SyncGroup => d!(SyncGroupResponse),
        ApiKey::Heartbeat => d!(HeartbeatResponse),
        ApiKey::LeaveGroup => d!(LeaveGroupResponse),
        ApiKey::OffsetCommit => d!(OffsetCommitResponse),
        ApiKey::OffsetFetch => d!(OffsetFetchResponse),
        ApiKey::ListGroups => d!(ListGroupsResponse),
        ApiKey::DescribeGroups => d!(DescribeGroupsResponse),
        ApiKey::DeleteGroups => d!(DeleteGroupsResponse),
        ApiKey::OffsetDelete => d!(OffsetDeleteResponse),
        ApiKey::CreatePartitions => d!(CreatePartitionsResponse),
        ApiKey::DescribeConfigs => d!(DescribeConfigsResponse),
        ApiKey::AlterConfigs => d!(AlterConfigsResponse),
        ApiKey::IncrementalAlterConfigs => d!(IncrementalAlterConfigsResponse),
        ApiKey::DeleteRecords => d!(DeleteRecordsResponse),
        ApiKey::OffsetForLeaderEpoch => d!(OffsetForLeaderEpochResponse),
        ApiKey::DescribeLogDirs => d!(DescribeLogDirsResponse),
        ApiKey::DescribeTopicPartitions => d!(DescribeTopicPartitionsResponse),
        ApiKey::AddPartitionsToTxn => d!(AddPartitionsToTxnResponse),
        ApiKey::AddOffsetsToTxn => d!(AddOffsetsToTxnResponse),
        ApiKey::EndTxn => d!(EndTxnResponse),
        ApiKey::WriteTxnMarkers => d!(WriteTxnMarkersResponse),
        ApiKey::TxnOffsetCommit => d!(TxnOffsetCommitResponse),
        ApiKey::DescribeProducers => d!(DescribeProducersResponse),
        ApiKey::DescribeTransactions => d!(DescribeTransactionsResponse),
        ApiKey::ListTransactions => d!(ListTransactionsResponse),
        ApiKey::DescribeQuorum => d!(DescribeQuorumResponse),
        other => anyhow::bail!("the harness has no decoder for {other:?}"),
    }
}

/// Whether a handler of this request may legitimately still be running
/// after `limit`: Fetch long-polls up to `max_wait_ms`; JoinGroup waits for
/// the other members up to the rebalance timeout; SyncGroup waits for the
/// leader's assignment. Returns how long it may wait.
pub fn may_wait(api: ApiKey, version: i16, body: &Bytes) -> Option<Duration> {
    let ms = |v: i32| Duration::from_millis(u64::try_from(v).unwrap_or(0));
    match api {
        ApiKey::Fetch => {
            let req = FetchRequest::decode(&mut body.clone(), version).ok()?;
            Some(ms(req.max_wait_ms))
        }
        ApiKey::JoinGroup => {
            let req = JoinGroupRequest::decode(&mut body.clone(), version).ok()?;
            Some(ms(req.rebalance_timeout_ms.max(req.session_timeout_ms)))
        }
        // Bounded by the group's rebalance timeout, which an earlier
        // JoinGroup chose.
        ApiKey::SyncGroup => Some(Duration::from_secs(600)),
        _ => None,
    }
}

/// Whether a Produce request asks for no response (acks = 0).
pub fn acks_zero(version: i16, body: &Bytes) -> bool {
    ProduceRequest::decode(&mut body.clone(), version).is_ok_and(|r| r.acks == 0)
}

/// Decodes a request body of `api` the way `dispatch` does.
pub fn decode_request(api: ApiKey, header: &Header, body: Bytes) -> Result<(), ProtocolError> {
    macro_rules! d {
        ($t:ty) => {
            decode_body::<$t>(header, body).map(drop)
        };
    }
    match api {
        ApiKey::Produce => d!(ProduceRequest),
        ApiKey::Fetch => d!(FetchRequest),
        ApiKey::ListOffsets => d!(ListOffsetsRequest),
        ApiKey::Metadata => d!(MetadataRequest),
        ApiKey::ApiVersions => d!(ApiVersionsRequest),
        ApiKey::CreateTopics => d!(CreateTopicsRequest),
        ApiKey::DeleteTopics => d!(DeleteTopicsRequest),
        ApiKey::InitProducerId => d!(InitProducerIdRequest),
        ApiKey::DescribeCluster => d!(DescribeClusterRequest),
        ApiKey::FindCoordinator => d!(FindCoordinatorRequest),
        ApiKey::JoinGroup => d!(JoinGroupRequest),
        ApiKey::SyncGroup => d!(SyncGroupRequest),
        ApiKey::Heartbeat => d!(HeartbeatRequest),
        ApiKey::LeaveGroup => d!(LeaveGroupRequest),
        ApiKey::OffsetCommit => d!(OffsetCommitRequest),
        ApiKey::OffsetFetch => d!(OffsetFetchRequest),
        ApiKey::ListGroups => d!(ListGroupsRequest),
        ApiKey::DescribeGroups => d!(DescribeGroupsRequest),
        ApiKey::DeleteGroups => d!(DeleteGroupsRequest),
        ApiKey::OffsetDelete => d!(OffsetDeleteRequest),
        ApiKey::CreatePartitions => d!(CreatePartitionsRequest),
        ApiKey::DescribeConfigs => d!(DescribeConfigsRequest),
        ApiKey::AlterConfigs => d!(AlterConfigsRequest),
        ApiKey::IncrementalAlterConfigs => d!(IncrementalAlterConfigsRequest),
        ApiKey::DeleteRecords => d!(DeleteRecordsRequest),
        ApiKey::OffsetForLeaderEpoch => d!(OffsetForLeaderEpochRequest),
        ApiKey::DescribeLogDirs => d!(DescribeLogDirsRequest),
        ApiKey::DescribeTopicPartitions => d!(DescribeTopicPartitionsRequest),
        ApiKey::AddPartitionsToTxn => d!(AddPartitionsToTxnRequest),
        ApiKey::AddOffsetsToTxn => d!(AddOffsetsToTxnRequest),
        ApiKey::EndTxn => d!(EndTxnRequest),
        ApiKey::WriteTxnMarkers => d!(WriteTxnMarkersRequest),
        ApiKey::TxnOffsetCommit => d!(TxnOffsetCommitRequest),
        ApiKey::DescribeProducers => d!(DescribeProducersRequest),
        ApiKey::DescribeTransactions => d!(DescribeTransactionsRequest),
        ApiKey::ListTransactions => d!(ListTransactionsRequest),
        ApiKey::DescribeQuorum => d!(DescribeQuorumRequest),
        other => Err(ProtocolError::UnknownApiKey {
            api_key: other as i16,
            correlation_id: 7,
        }),
    }
}
