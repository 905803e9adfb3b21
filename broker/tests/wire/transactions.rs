//! The transaction APIs in one flow (InitProducerId, AddPartitionsToTxn,
//! transactional Produce, DescribeTransactions, DescribeProducers,
//! ListTransactions, read_committed Fetch, EndTxn, TxnOffsetCommit,
//! WriteTxnMarkers): one test, since each step depends on the state the
//! previous ones left.
//!
//! Not idempotent (non-transactional) producers (`produce.rs`).

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use crate::common::*;

/// A transactional batch (producer id, epoch, sequence from `seq`).
fn txn_batch(values: &[&str], producer_id: i64, epoch: i16, seq: i32) -> Bytes {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: true,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: seq + i as i32,
            timestamp: 1_000,
            key: None,
            value: Some(Bytes::from(v.to_string())),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode");
    buf.freeze()
}

#[test]
fn transaction_apis_on_the_wire() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    create_topic(&mut c, "tw", 2);
    let tx = || TransactionalId(StrBytes::from_static_str("wire-tx"));
    let find: FindCoordinatorResponse = c.call(
        ApiKey::FindCoordinator,
        3,
        &FindCoordinatorRequest::default()
            .with_key_type(1)
            .with_key(StrBytes::from_static_str("wire-tx")),
    );
    assert_eq!(find.error_code, 0);
    // InitProducerId v4 for a new instance of "wire-tx".
    let init_req = |timeout_ms: i32| {
        InitProducerIdRequest::default()
            .with_transactional_id(Some(tx()))
            .with_transaction_timeout_ms(timeout_ms)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    // EndTxn v3 for (producer id, epoch).
    let end_req = |pid: ProducerId, epoch: i16, committed: bool| {
        EndTxnRequest::default()
            .with_transactional_id(tx())
            .with_producer_id(pid)
            .with_producer_epoch(epoch)
            .with_committed(committed)
    };
    // transaction.timeout.ms above transaction.max.timeout.ms.
    let init: InitProducerIdResponse = c.call(ApiKey::InitProducerId, 4, &init_req(900_001));
    assert_eq!(init.error_code, 50);
    let init: InitProducerIdResponse = c.call(ApiKey::InitProducerId, 4, &init_req(60_000));
    assert_eq!(init.error_code, 0);
    let (pid, epoch) = (init.producer_id, init.producer_epoch);

    // A transactional batch for a partition not added: refused (KIP-890).
    let mut req = produce_req("tw", 0, txn_batch(&["early"], pid.0, epoch, 0), -1);
    req.transactional_id = Some(tx());
    let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &req);
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 48);

    let add: AddPartitionsToTxnResponse = c.call(
        ApiKey::AddPartitionsToTxn,
        3,
        &AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(tx())
            .with_v3_and_below_producer_id(pid)
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(vec![
                add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                    .with_name(topic_name("tw"))
                    .with_partitions(vec![0]),
            ]),
    );
    let code = add.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code;
    assert_eq!(code, 0);
    let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &req);
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    // A transactional batch without the transactional id is refused.
    let no_id = produce_req("tw", 0, txn_batch(&["x"], pid.0, epoch, 1), -1);
    let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &no_id);
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 87);

    // Broker-style verification (v4): partition 0 is in, partition 1 not.
    let verify: AddPartitionsToTxnResponse = c.call(
        ApiKey::AddPartitionsToTxn,
        4,
        &AddPartitionsToTxnRequest::default().with_transactions(vec![
            add_partitions_to_txn_request::AddPartitionsToTxnTransaction::default()
                .with_transactional_id(tx())
                .with_producer_id(pid)
                .with_producer_epoch(epoch)
                .with_verify_only(true)
                .with_topics(vec![
                    add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                        .with_name(topic_name("tw"))
                        .with_partitions(vec![0, 1]),
                ]),
        ]),
    );
    let codes: Vec<i16> = verify.results_by_transaction[0].topic_results[0]
        .results_by_partition
        .iter()
        .map(|p| p.partition_error_code)
        .collect();
    assert_eq!(codes, vec![0, 48]);

    // Describe: the open transaction, at the coordinator and the partition.
    let d: DescribeTransactionsResponse = c.call(
        ApiKey::DescribeTransactions,
        0,
        &DescribeTransactionsRequest::default().with_transactional_ids(vec![
            tx(),
            TransactionalId(StrBytes::from_static_str("nobody")),
        ]),
    );
    let s0 = &d.transaction_states[0];
    assert_eq!(
        (s0.error_code, s0.transaction_state.as_str(), s0.producer_id),
        (0, "Ongoing", pid)
    );
    assert_eq!(s0.topics[0].partitions, vec![0]);
    assert_eq!(d.transaction_states[1].error_code, 105);
    let p: DescribeProducersResponse = c.call(
        ApiKey::DescribeProducers,
        0,
        &DescribeProducersRequest::default().with_topics(vec![
            describe_producers_request::TopicRequest::default()
                .with_name(topic_name("tw"))
                .with_partition_indexes(vec![0]),
        ]),
    );
    let prod = &p.topics[0].partitions[0].active_producers[0];
    assert_eq!(
        (
            prod.producer_id,
            prod.current_txn_start_offset,
            prod.last_sequence
        ),
        (pid, 0, 0)
    );
    let l: ListTransactionsResponse = c.call(
        ApiKey::ListTransactions,
        1,
        &ListTransactionsRequest::default()
            .with_state_filters(vec![
                StrBytes::from_static_str("Ongoing"),
                StrBytes::from_static_str("Bogus"),
            ])
            .with_duration_filter(-1),
    );
    assert_eq!(l.transaction_states.len(), 1);
    assert_eq!(
        l.unknown_state_filters,
        vec![StrBytes::from_static_str("Bogus")]
    );

    // read_committed sees nothing yet and reports the LSO.
    let mut f = fetch_req("tw", 0, 0, 1, 1 << 20);
    f.isolation_level = 1;
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &f);
    let pd = &r.responses[0].partitions[0];
    assert_eq!((pd.high_watermark, pd.last_stable_offset), (1, 0));
    assert!(pd.records.as_ref().is_none_or(|r| r.is_empty()));

    let end: EndTxnResponse = c.call(ApiKey::EndTxn, 3, &end_req(pid, epoch, false));
    assert_eq!(end.error_code, 0);
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &f);
    let pd = &r.responses[0].partitions[0];
    assert_eq!((pd.high_watermark, pd.last_stable_offset), (2, 2));
    let aborted = pd.aborted_transactions.clone().unwrap_or_default();
    assert_eq!(aborted.len(), 1);
    assert_eq!((aborted[0].producer_id, aborted[0].first_offset), (pid, 0));
    // A late retry of the ended transaction's batch is answered as the
    // duplicate it is, not refused by verification.
    let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &req);
    let pr = &resp.responses[0].partition_responses[0];
    assert_eq!((pr.error_code, pr.base_offset), (0, 0));
    // A new batch for the ended transaction is refused (KIP-890).
    let mut late = produce_req("tw", 0, txn_batch(&["late"], pid.0, epoch, 1), -1);
    late.transactional_id = Some(tx());
    let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &late);
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 48);
    // A new instance bumps the epoch; the old epoch is then fenced
    // (PRODUCER_FENCED for EndTxn v2+).
    let init2: InitProducerIdResponse = c.call(ApiKey::InitProducerId, 4, &init_req(60_000));
    assert_eq!((init2.error_code, init2.producer_id), (0, pid));
    assert_eq!(init2.producer_epoch, epoch + 1);
    let end: EndTxnResponse = c.call(ApiKey::EndTxn, 3, &end_req(pid, epoch, true));
    assert_eq!(end.error_code, 90);
    // A batch of the fenced epoch: the partition leader answers
    // INVALID_PRODUCER_EPOCH with log start offset -1, as Kafka's does
    // (its verification turns PRODUCER_FENCED into it; ours said 90).
    let mut stale = produce_req("tw", 0, txn_batch(&["stale"], pid.0, epoch, 2), -1);
    stale.transactional_id = Some(tx());
    let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &stale);
    let pr = &resp.responses[0].partition_responses[0];
    assert_eq!((pr.error_code, pr.log_start_offset), (47, -1));

    // TxnOffsetCommit for a group whose offsets partition was not added to
    // the transaction is refused (KIP-890 verification, as for produce).
    let commit: TxnOffsetCommitResponse = c.call(
        ApiKey::TxnOffsetCommit,
        3,
        &TxnOffsetCommitRequest::default()
            .with_transactional_id(tx())
            .with_group_id(GroupId(StrBytes::from_static_str("wire-group")))
            .with_producer_id(pid)
            .with_producer_epoch(init2.producer_epoch)
            .with_generation_id(-1)
            .with_topics(vec![
                txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                    .with_name(topic_name("tw"))
                    .with_partitions(vec![
                        txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(1),
                    ]),
            ]),
    );
    assert_eq!(commit.topics[0].partitions[0].error_code, 48);

    // A marker from an epoch older than one already written is skipped
    // (answered without error, nothing appended), so a coordinator never
    // retries it forever.
    let marker = |epoch: i16| {
        WriteTxnMarkersRequest::default().with_markers(vec![
            write_txn_markers_request::WritableTxnMarker::default()
                .with_producer_id(pid)
                .with_producer_epoch(epoch)
                .with_transaction_result(true)
                .with_coordinator_epoch(0)
                .with_topics(vec![
                    write_txn_markers_request::WritableTxnMarkerTopic::default()
                        .with_name(topic_name("tw"))
                        .with_partition_indexes(vec![1]),
                ]),
        ])
    };
    let r: WriteTxnMarkersResponse = c.call(ApiKey::WriteTxnMarkers, 1, &marker(epoch + 5));
    assert_eq!(r.markers[0].topics[0].partitions[0].error_code, 0);
    let hw = |c: &mut Client| {
        let mut f = fetch_req("tw", 0, 0, 1, 1 << 20);
        f.topics[0].partitions[0].partition = 1;
        let r: FetchResponse = c.call(ApiKey::Fetch, 12, &f);
        r.responses[0].partitions[0].high_watermark
    };
    assert_eq!(hw(&mut c), 1, "the newer marker is written");
    let r: WriteTxnMarkersResponse = c.call(ApiKey::WriteTxnMarkers, 1, &marker(epoch));
    assert_eq!(r.markers[0].topics[0].partitions[0].error_code, 0);
    assert_eq!(hw(&mut c), 1, "the fenced marker is not");
}
