//! The handler registry (`api::SUPPORTED`, generated with `api::dispatch`
//! from one declaration in `broker/src/api/mod.rs`) checked through the real
//! request path: a TCP connection to an in-process broker, the connection's
//! frame split and header decoding, dispatch, the handler, the encoder.
//!
//! Every registered API is sent at its minimum and its maximum version with
//! the request struct's `Default` body; each must be answered with its
//! correlation id, in a frame that decodes exactly as that API's response at
//! that version. A default body may well earn an error code (an empty group
//! id, a missing transactional id): that is an answer. A closed connection is
//! not: it means the API is registered but not dispatched, or advertised at
//! a version its request or response cannot take. ApiVersions must list
//! exactly the registry.
//!
//! Not the behaviour of any API (`wire/`), nor every version of every API
//! with random bodies (`wire_fuzz.rs`).

mod common;

use bytes::{Bytes, BytesMut};
use common::{Client, TestBroker};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use memorystreamer_broker::api::SUPPORTED;

/// The correlation id every exchange uses (one connection per exchange).
const CORRELATION_ID: i32 = 4242;

/// The frame of `req` at `version`: size, the request header the version
/// calls for, the body. `None` for the body sends the header alone. Err
/// when `kafka-protocol` cannot encode the body at that version.
fn frame<Req: Encodable + HeaderVersion>(
    api: ApiKey,
    version: i16,
    req: Option<&Req>,
) -> Result<Vec<u8>, String> {
    let header = RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(CORRELATION_ID)
        .with_client_id(Some(StrBytes::from_static_str("api-registry-test")));
    let mut buf = BytesMut::new();
    header
        .encode(&mut buf, Req::header_version(version))
        .map_err(|e| format!("cannot encode the request header: {e}"))?;
    if let Some(req) = req {
        req.encode(&mut buf, version)
            .map_err(|e| format!("cannot encode the default body: {e}"))?;
    }
    let mut out = (buf.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&buf);
    Ok(out)
}

/// Decodes `frame` as the response of `Resp` at `version`: the header the
/// version calls for with our correlation id, then a body that uses the
/// whole frame.
fn decode_response<Resp: Decodable + HeaderVersion>(
    mut frame: Bytes,
    version: i16,
) -> Result<Resp, String> {
    let header = ResponseHeader::decode(&mut frame, Resp::header_version(version))
        .map_err(|e| format!("response header does not decode: {e}"))?;
    if header.correlation_id != CORRELATION_ID {
        return Err(format!(
            "correlation id {} instead of {CORRELATION_ID}",
            header.correlation_id
        ));
    }
    let resp =
        Resp::decode(&mut frame, version).map_err(|e| format!("body does not decode: {e}"))?;
    if !frame.is_empty() {
        return Err(format!("{} bytes left after the body", frame.len()));
    }
    Ok(resp)
}

/// Sends `req` at `version` on a new connection and decodes the answer.
fn exchange<Req, Resp>(b: &TestBroker, api: ApiKey, version: i16, req: &Req) -> Result<Resp, String>
where
    Req: Encodable + HeaderVersion,
    Resp: Decodable + HeaderVersion,
{
    let mut c = b.connect();
    c.send_raw(&frame(api, version, Some(req))?);
    let frame = c
        .read_frame()
        .ok_or_else(|| "connection closed instead of an answer".to_string())?;
    decode_response(frame, version)
}

/// Produce with acks=0 (its `Default`) gets no response at all: the next
/// request on the connection is the next one answered.
fn produce_without_response(b: &TestBroker, version: i16) -> Result<(), String> {
    let mut c = b.connect();
    c.send_raw(&frame(
        ApiKey::Produce,
        version,
        Some(&ProduceRequest::default()),
    )?);
    c.send_raw(&frame(
        ApiKey::ApiVersions,
        0,
        Some(&ApiVersionsRequest::default()),
    )?);
    let answer = c
        .read_frame()
        .ok_or_else(|| "connection closed after an acks=0 produce".to_string())?;
    decode_response::<ApiVersionsResponse>(answer, 0)
        .map(drop)
        .map_err(|e| format!("the answer after an acks=0 produce is not ApiVersions': {e}"))
}

/// Produce below v3 (legacy message formats) is advertised for librdkafka's
/// sake (KAFKA-18659) and refused on purpose: the connection closes.
fn legacy_produce_refused(b: &TestBroker, version: i16) -> Result<(), String> {
    let mut c = b.connect();
    c.send_raw(&frame::<ProduceRequest>(ApiKey::Produce, version, None)?);
    match c.read_frame() {
        None => Ok(()),
        Some(_) => Err("legacy produce answered instead of refused".to_string()),
    }
}

/// Runs `api` at `version` with its default request; Err says why it
/// failed.
fn check(b: &TestBroker, api: ApiKey, version: i16) -> Result<(), String> {
    if api == ApiKey::Produce && version < api.valid_versions().min {
        return legacy_produce_refused(b, version);
    }
    macro_rules! apis {
        ($($key:ident => $req:ty, $resp:ty;)*) => {
            match api {
                $(ApiKey::$key => {
                    exchange::<$req, $resp>(b, api, version, &<$req>::default()).map(drop)
                })*
                other => Err(format!(
                    "registered, but this test does not know the request and response types of {other:?}"
                )),
            }
        };
    }
    if api == ApiKey::Produce {
        produce_without_response(b, version)?;
        // acks=1 is the only difference from the default: it asks for the
        // response this test decodes.
        let req = ProduceRequest::default().with_acks(1);
        return exchange::<ProduceRequest, ProduceResponse>(b, api, version, &req).map(drop);
    }
    if api == ApiKey::DescribeAcls {
        // The default filter's UNKNOWN codes fail the parse (the connection
        // closes, as in Kafka); ANY everywhere is the plain request.
        let req = DescribeAclsRequest::default()
            .with_resource_type_filter(1)
            .with_pattern_type_filter(1)
            .with_operation(1)
            .with_permission_type(1);
        return exchange::<DescribeAclsRequest, DescribeAclsResponse>(b, api, version, &req)
            .map(drop);
    }
    apis! {
        Fetch => FetchRequest, FetchResponse;
        ListOffsets => ListOffsetsRequest, ListOffsetsResponse;
        Metadata => MetadataRequest, MetadataResponse;
        ApiVersions => ApiVersionsRequest, ApiVersionsResponse;
        SaslHandshake => SaslHandshakeRequest, SaslHandshakeResponse;
        SaslAuthenticate => SaslAuthenticateRequest, SaslAuthenticateResponse;
        CreateTopics => CreateTopicsRequest, CreateTopicsResponse;
        DeleteTopics => DeleteTopicsRequest, DeleteTopicsResponse;
        InitProducerId => InitProducerIdRequest, InitProducerIdResponse;
        DescribeCluster => DescribeClusterRequest, DescribeClusterResponse;
        FindCoordinator => FindCoordinatorRequest, FindCoordinatorResponse;
        JoinGroup => JoinGroupRequest, JoinGroupResponse;
        SyncGroup => SyncGroupRequest, SyncGroupResponse;
        Heartbeat => HeartbeatRequest, HeartbeatResponse;
        LeaveGroup => LeaveGroupRequest, LeaveGroupResponse;
        OffsetCommit => OffsetCommitRequest, OffsetCommitResponse;
        OffsetFetch => OffsetFetchRequest, OffsetFetchResponse;
        ListGroups => ListGroupsRequest, ListGroupsResponse;
        DescribeGroups => DescribeGroupsRequest, DescribeGroupsResponse;
        DeleteGroups => DeleteGroupsRequest, DeleteGroupsResponse;
        OffsetDelete => OffsetDeleteRequest, OffsetDeleteResponse;
        CreatePartitions => CreatePartitionsRequest, CreatePartitionsResponse;
        DescribeConfigs => DescribeConfigsRequest, DescribeConfigsResponse;
        AlterConfigs => AlterConfigsRequest, AlterConfigsResponse;
        IncrementalAlterConfigs => IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse;
        DeleteRecords => DeleteRecordsRequest, DeleteRecordsResponse;
        OffsetForLeaderEpoch => OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse;
        DescribeLogDirs => DescribeLogDirsRequest, DescribeLogDirsResponse;
        DescribeTopicPartitions => DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse;
        AddPartitionsToTxn => AddPartitionsToTxnRequest, AddPartitionsToTxnResponse;
        AddOffsetsToTxn => AddOffsetsToTxnRequest, AddOffsetsToTxnResponse;
        EndTxn => EndTxnRequest, EndTxnResponse;
        WriteTxnMarkers => WriteTxnMarkersRequest, WriteTxnMarkersResponse;
        TxnOffsetCommit => TxnOffsetCommitRequest, TxnOffsetCommitResponse;
        DescribeProducers => DescribeProducersRequest, DescribeProducersResponse;
        DescribeTransactions => DescribeTransactionsRequest, DescribeTransactionsResponse;
        ListTransactions => ListTransactionsRequest, ListTransactionsResponse;
        DescribeQuorum => DescribeQuorumRequest, DescribeQuorumResponse;
        ElectLeaders => ElectLeadersRequest, ElectLeadersResponse;
        AlterPartitionReassignments => AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse;
        ListPartitionReassignments => ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse;
        CreateAcls => CreateAclsRequest, CreateAclsResponse;
        DeleteAcls => DeleteAclsRequest, DeleteAclsResponse;
        DescribeUserScramCredentials => DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse;
        AlterUserScramCredentials => AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse;
        DescribeClientQuotas => DescribeClientQuotasRequest, DescribeClientQuotasResponse;
    }
}

#[test]
fn every_registered_api_answers_at_its_min_and_max_version() {
    let b = TestBroker::start(&[]);
    assert!(!SUPPORTED.is_empty(), "the registry is empty");
    let mut failures = Vec::new();
    for (api, min, max) in SUPPORTED {
        assert!(min <= max, "{api:?}: min v{min} above max v{max}");
        for version in [*min, *max] {
            if let Err(why) = check(&b, *api, version) {
                failures.push(format!("{api:?} v{version}: {why}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "registered APIs not answered:\n{}",
        failures.join("\n")
    );
}

#[test]
fn api_versions_lists_exactly_the_registry() {
    let b = TestBroker::start(&[]);
    let mut registry: Vec<(i16, i16, i16)> = SUPPORTED
        .iter()
        .map(|(api, min, max)| (*api as i16, *min, *max))
        .collect();
    registry.sort_unstable();
    let mut keys: Vec<i16> = registry.iter().map(|r| r.0).collect();
    keys.dedup();
    assert_eq!(keys.len(), registry.len(), "an API is registered twice");
    let (_, _, max) = SUPPORTED
        .iter()
        .find(|(api, _, _)| *api == ApiKey::ApiVersions)
        .expect("ApiVersions is registered");
    // v0 (no client software) and the newest (with valid KIP-511 fields).
    let requests = [
        (0, ApiVersionsRequest::default()),
        (
            *max,
            ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("api-registry-test"))
                .with_client_software_version(StrBytes::from_static_str("1.0")),
        ),
    ];
    for (version, req) in requests {
        let mut c: Client = b.connect();
        let resp: ApiVersionsResponse = c.call(ApiKey::ApiVersions, version, &req);
        assert_eq!(resp.error_code, 0, "ApiVersions v{version}");
        let mut advertised: Vec<(i16, i16, i16)> = resp
            .api_keys
            .iter()
            .map(|k| (k.api_key, k.min_version, k.max_version))
            .collect();
        advertised.sort_unstable();
        assert_eq!(
            advertised, registry,
            "ApiVersions v{version} must list exactly the registry"
        );
    }
}
