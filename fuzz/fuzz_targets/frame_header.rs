//! Fuzzes the request path the connection runs on untrusted bytes: frame
//! split (size cap), request header, and the body decoder of every API the
//! broker serves (the list in `broker/src/api/mod.rs`). Nothing may panic.
#![no_main]

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use libfuzzer_sys::fuzz_target;
use memorystreamer_protocol_kafka::frame::split_frame;
use memorystreamer_protocol_kafka::request::{decode_body, decode_header};
use memorystreamer_protocol_kafka::versions::{ApiRange, ApiTable};

fuzz_target!(|data: &[u8]| {
    let table = ApiTable::new(
        ApiKey::iter()
            .map(|k| ApiRange {
                api_key: k,
                min: k.valid_versions().min,
                max: k.valid_versions().max,
            })
            .collect(),
    );
    let mut buf = BytesMut::from(data);
    while let Ok(Some(frame)) = split_frame(&mut buf, 1 << 20) {
        let mut frame = frame.freeze();
        let Ok(h) = decode_header(&mut frame, &table) else {
            continue;
        };
        let body: Bytes = frame;
        let _ = match h.api_key {
            ApiKey::Produce => decode_body::<ProduceRequest>(&h, body).map(drop),
            ApiKey::Fetch => decode_body::<FetchRequest>(&h, body).map(drop),
            ApiKey::ListOffsets => decode_body::<ListOffsetsRequest>(&h, body).map(drop),
            ApiKey::Metadata => decode_body::<MetadataRequest>(&h, body).map(drop),
            ApiKey::ApiVersions => decode_body::<ApiVersionsRequest>(&h, body).map(drop),
            ApiKey::CreateTopics => decode_body::<CreateTopicsRequest>(&h, body).map(drop),
            ApiKey::DeleteTopics => decode_body::<DeleteTopicsRequest>(&h, body).map(drop),
            ApiKey::InitProducerId => decode_body::<InitProducerIdRequest>(&h, body).map(drop),
            ApiKey::DescribeCluster => decode_body::<DescribeClusterRequest>(&h, body).map(drop),
            ApiKey::FindCoordinator => decode_body::<FindCoordinatorRequest>(&h, body).map(drop),
            ApiKey::JoinGroup => decode_body::<JoinGroupRequest>(&h, body).map(drop),
            ApiKey::SyncGroup => decode_body::<SyncGroupRequest>(&h, body).map(drop),
            ApiKey::Heartbeat => decode_body::<HeartbeatRequest>(&h, body).map(drop),
            ApiKey::LeaveGroup => decode_body::<LeaveGroupRequest>(&h, body).map(drop),
            ApiKey::OffsetCommit => decode_body::<OffsetCommitRequest>(&h, body).map(drop),
            ApiKey::OffsetFetch => decode_body::<OffsetFetchRequest>(&h, body).map(drop),
            ApiKey::ListGroups => decode_body::<ListGroupsRequest>(&h, body).map(drop),
            ApiKey::DescribeGroups => decode_body::<DescribeGroupsRequest>(&h, body).map(drop),
            ApiKey::DeleteGroups => decode_body::<DeleteGroupsRequest>(&h, body).map(drop),
            ApiKey::OffsetDelete => decode_body::<OffsetDeleteRequest>(&h, body).map(drop),
            ApiKey::CreatePartitions => decode_body::<CreatePartitionsRequest>(&h, body).map(drop),
            ApiKey::DescribeConfigs => decode_body::<DescribeConfigsRequest>(&h, body).map(drop),
            ApiKey::AlterConfigs => decode_body::<AlterConfigsRequest>(&h, body).map(drop),
            ApiKey::IncrementalAlterConfigs => {
                decode_body::<IncrementalAlterConfigsRequest>(&h, body).map(drop)
            }
            ApiKey::DeleteRecords => decode_body::<DeleteRecordsRequest>(&h, body).map(drop),
            ApiKey::OffsetForLeaderEpoch => {
                decode_body::<OffsetForLeaderEpochRequest>(&h, body).map(drop)
            }
            ApiKey::DescribeLogDirs => decode_body::<DescribeLogDirsRequest>(&h, body).map(drop),
            ApiKey::DescribeTopicPartitions => {
                decode_body::<DescribeTopicPartitionsRequest>(&h, body).map(drop)
            }
            ApiKey::AddPartitionsToTxn => {
                decode_body::<AddPartitionsToTxnRequest>(&h, body).map(drop)
            }
            ApiKey::AddOffsetsToTxn => decode_body::<AddOffsetsToTxnRequest>(&h, body).map(drop),
            ApiKey::EndTxn => decode_body::<EndTxnRequest>(&h, body).map(drop),
            ApiKey::WriteTxnMarkers => decode_body::<WriteTxnMarkersRequest>(&h, body).map(drop),
            ApiKey::TxnOffsetCommit => decode_body::<TxnOffsetCommitRequest>(&h, body).map(drop),
            ApiKey::DescribeProducers => {
                decode_body::<DescribeProducersRequest>(&h, body).map(drop)
            }
            ApiKey::DescribeTransactions => {
                decode_body::<DescribeTransactionsRequest>(&h, body).map(drop)
            }
            ApiKey::ListTransactions => decode_body::<ListTransactionsRequest>(&h, body).map(drop),
            ApiKey::DescribeQuorum => decode_body::<DescribeQuorumRequest>(&h, body).map(drop),
            _ => Ok(()),
        };
    }
});
