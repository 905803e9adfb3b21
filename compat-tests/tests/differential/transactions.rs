//! Transactions: the states DescribeTransactions and ListTransactions
//! report through InitProducerId, AddPartitionsToTxn, Produce and EndTxn
//! (Empty → Ongoing → CompleteCommit / CompleteAbort), the offsets a
//! read_committed reader sees, and the fencing and state errors.
//!
//! Requests use the versions a Kafka 3.x-era client sends (EndTxn v3,
//! AddPartitionsToTxn v3), i.e. transactions without the KIP-890 part 2
//! epoch bump on every commit.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::*;
use memorystreamer_compat_tests::differential::wire::{
    record_batch, str_bytes, topic_name, Answer, ProducerFields, RecordSpec, WireClient,
};

use super::requests::*;
use super::Side;

fn txn_id(s: &str) -> TransactionalId {
    TransactionalId(str_bytes(s))
}

fn add_partitions(
    c: &mut WireClient,
    id: &str,
    pid: i64,
    epoch: i16,
    topic: &str,
) -> Answer<AddPartitionsToTxnResponse> {
    let req = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(txn_id(id))
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![
            add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(vec![0]),
        ]);
    c.call(ApiKey::AddPartitionsToTxn, 3, &req)
}

fn end(c: &mut WireClient, id: &str, pid: i64, epoch: i16, commit: bool) -> Answer<EndTxnResponse> {
    let req = EndTxnRequest::default()
        .with_transactional_id(txn_id(id))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit);
    c.call(ApiKey::EndTxn, 3, &req)
}

fn describe(c: &mut WireClient, ids: &[&str]) -> Answer<DescribeTransactionsResponse> {
    let req = DescribeTransactionsRequest::default()
        .with_transactional_ids(ids.iter().map(|i| txn_id(i)).collect());
    c.call(ApiKey::DescribeTransactions, 0, &req)
}

fn list(c: &mut WireClient, states: &[&str]) -> Answer<ListTransactionsResponse> {
    let req = ListTransactionsRequest::default()
        .with_state_filters(states.iter().map(|s| str_bytes(s)).collect())
        .with_duration_filter(-1);
    c.call(ApiKey::ListTransactions, 1, &req)
}

/// Describes `id` until it leaves the Prepare* states (markers written),
/// bounded; returns the settled answer.
fn settled(c: &mut WireClient, id: &str) -> Answer<DescribeTransactionsResponse> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = describe(c, &[id]);
        let state = match &r {
            Answer::Response(x) => x.transaction_states[0].transaction_state.to_string(),
            Answer::Closed => return r,
        };
        if !state.starts_with("Prepare") || Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A transactional Produce, retried as clients do on the retriable answers
/// Kafka gives while it verifies the partition with the coordinator
/// (KIP-890: NOT_LEADER_OR_FOLLOWER and the coordinator errors).
fn produce_txn(c: &mut WireClient, topic: &str, batch: Bytes, id: &str) -> Answer<ProduceResponse> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = produce(c, topic, 0, batch.clone(), Some(id));
        match &r {
            Answer::Response(p)
                if [6, 14, 15, 16, 51]
                    .contains(&p.responses[0].partition_responses[0].error_code)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(50))
            }
            _ => return r,
        }
    }
}

fn txn_batch(pid: i64, epoch: i16, seq: i32, values: &[&[u8]]) -> Bytes {
    let records: Vec<RecordSpec> = values.iter().map(|v| (None, *v, 1_000)).collect();
    record_batch(
        &records,
        ProducerFields {
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            transactional: true,
        },
    )
}

/// One committed and one aborted transaction, observed at every step.
pub fn transaction_states(side: &mut Side) {
    const T: &str = "tx-states";
    let mut c = side.client();
    create_topic(&mut c, "txs", 1, &[]);
    let r = init_producer_id(&mut c, Some(T));
    side.rec.answer("init", &r);
    let r = r.expect_response("InitProducerId");
    let (pid, epoch) = (r.producer_id.0, r.producer_epoch);
    side.rec.answer("empty.describe", &describe(&mut c, &[T]));
    side.rec.answer("empty.list", &list(&mut c, &[]));

    side.rec
        .answer("t1.add", &add_partitions(&mut c, T, pid, epoch, "txs"));
    side.rec.answer("t1.ongoing", &describe(&mut c, &[T]));
    side.rec
        .answer("t1.list_ongoing", &list(&mut c, &["Ongoing"]));
    let r = produce_txn(&mut c, "txs", txn_batch(pid, epoch, 0, &[b"a", b"b"]), T);
    side.rec.answer("t1.produce", &r);
    side.rec.answer(
        "t1.offsets_uncommitted",
        &list_offsets(&mut c, "txs", &[(0, -1)], 0),
    );
    side.rec.answer(
        "t1.offsets_committed",
        &list_offsets(&mut c, "txs", &[(0, -1)], 1),
    );
    side.rec
        .answer("t1.commit", &end(&mut c, T, pid, epoch, true));
    side.rec.answer("t1.settled", &settled(&mut c, T));
    side.rec.answer(
        "t1.offsets_after",
        &list_offsets(&mut c, "txs", &[(0, -1)], 1),
    );

    side.rec
        .answer("t2.add", &add_partitions(&mut c, T, pid, epoch, "txs"));
    let r = produce_txn(&mut c, "txs", txn_batch(pid, epoch, 2, &[b"c"]), T);
    side.rec.answer("t2.produce", &r);
    side.rec
        .answer("t2.abort", &end(&mut c, T, pid, epoch, false));
    side.rec.answer("t2.settled", &settled(&mut c, T));
    side.rec
        .answer("t2.list_aborted", &list(&mut c, &["CompleteAbort"]));
    side.rec
        .answer("t2.list_unknown_state", &list(&mut c, &["NoSuchState"]));
    side.rec
        .answer("t2.offsets", &list_offsets(&mut c, "txs", &[(0, -1)], 1));
    side.rec
        .record("t2.read_committed", &read_log(&mut c, "txs", 1));
    side.rec
        .record("t2.read_uncommitted", &read_log(&mut c, "txs", 0));
}

/// Fencing, wrong ids and epochs, and EndTxn without a transaction.
pub fn transaction_errors(side: &mut Side) {
    const T: &str = "tx-errors";
    let mut c = side.client();
    create_topic(&mut c, "txe", 1, &[]);
    create_topic(&mut c, "txe-2", 1, &[]);
    let r = init_producer_id(&mut c, Some(T)).expect_response("InitProducerId");
    let (pid, epoch) = (r.producer_id.0, r.producer_epoch);

    side.rec.answer(
        "commit_without_transaction",
        &end(&mut c, T, pid, epoch, true),
    );
    side.rec.answer(
        "abort_without_transaction",
        &end(&mut c, T, pid, epoch, false),
    );
    side.rec
        .answer("describe_unknown", &describe(&mut c, &["tx-none"]));
    side.rec.answer(
        "add.wrong_epoch",
        &add_partitions(&mut c, T, pid, epoch + 1, "txe"),
    );
    side.rec.answer(
        "add.wrong_producer_id",
        &add_partitions(&mut c, T, pid + 1_000, epoch, "txe"),
    );
    side.rec.answer(
        "add.unknown_topic",
        &add_partitions(&mut c, T, pid, epoch, "txe-none"),
    );
    side.rec.answer(
        "add.unknown_transactional_id",
        &add_partitions(&mut c, "tx-none", pid, epoch, "txe"),
    );
    side.rec
        .answer("add.ok", &add_partitions(&mut c, T, pid, epoch, "txe"));
    let r = produce_txn(&mut c, "txe-2", txn_batch(pid, epoch, 0, &[b"x"]), T);
    side.rec.answer("produce.partition_not_added", &r);
    let r = produce_txn(&mut c, "txe", txn_batch(pid, epoch, 0, &[b"x"]), T);
    side.rec.answer("produce.ok", &r);

    // A second InitProducerId fences the first producer (bumping the epoch
    // and aborting its transaction).
    let r = init_producer_id(&mut c, Some(T));
    side.rec.answer("fence.init", &r);
    let new_epoch = r.expect_response("InitProducerId").producer_epoch;
    side.rec.answer("fence.settled", &settled(&mut c, T));
    side.rec
        .answer("fenced.commit", &end(&mut c, T, pid, epoch, true));
    side.rec
        .answer("fenced.add", &add_partitions(&mut c, T, pid, epoch, "txe"));
    let r = produce_txn(&mut c, "txe", txn_batch(pid, epoch, 1, &[b"y"]), T);
    side.rec.answer("fenced.produce", &r);
    side.rec
        .answer("new.add", &add_partitions(&mut c, T, pid, new_epoch, "txe"));
    side.rec
        .answer("new.commit_empty", &end(&mut c, T, pid, new_epoch, true));
    side.rec.answer("new.settled", &settled(&mut c, T));
}
