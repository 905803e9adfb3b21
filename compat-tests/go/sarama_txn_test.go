package compat

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// readSaramaIsolated reads a topic from the start with the given isolation
// level until every position in want is read; a record anywhere else fails.
func readSaramaIsolated(t *testing.T, cfg *sarama.Config, topic string, partitions int32, want map[recPos]bool) map[recPos]string {
	t.Helper()
	consumer, err := sarama.NewConsumer([]string{bootstrap(t)}, cfg)
	if err != nil {
		t.Fatalf("sarama consumer: %v", err)
	}
	defer consumer.Close()
	msgs := make(chan *sarama.ConsumerMessage, len(want)+16)
	errs := make(chan error, 16)
	for p := int32(0); p < partitions; p++ {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("consume %s-%d: %v", topic, p, err)
		}
		defer pc.Close()
		go func() {
			for m := range pc.Messages() {
				msgs <- m
			}
		}()
		go func() {
			for e := range pc.Errors() {
				errs <- e
			}
		}()
	}
	got := map[recPos]string{}
	deadline := time.After(30 * time.Second)
	for len(got) < len(want) {
		select {
		case m := <-msgs:
			at := recPos{m.Partition, m.Offset}
			if !want[at] {
				t.Fatalf("read %q at %v, not among the %d expected records", m.Value, at, len(want))
			}
			got[at] = string(m.Value)
		case e := <-errs:
			if !retriableSarama("consumer", e) {
				t.Fatalf("consuming %s: %v", topic, e)
			}
		case <-deadline:
			t.Fatalf("read %d of %d records of %s", len(got), len(want), topic)
		}
	}
	return got
}

// TestSaramaTransactions: Sarama's transactional SyncProducer aborts one
// transaction, then transforms every input record in a second one that also
// commits the inputs' offsets for a group (AddMessageToTxn). Sarama's
// read_committed consumer sees exactly the transformed inputs, its
// read_uncommitted consumer the aborted records too, and the group's
// committed offsets are the inputs' end offsets.
func TestSaramaTransactions(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	adm := newAdmin(t)
	in, out := unique("go-sarama-txn-in"), unique("go-sarama-txn-out")
	group := unique("go-sarama-txn-group")
	createTopic(t, ctx, adm, in, 2, nil)
	createTopic(t, ctx, adm, out, 2, nil)

	plain, err := sarama.NewSyncProducer([]string{bootstrap(t)}, func() *sarama.Config {
		c := saramaConfig("txn-input", sarama.V4_1_0_0)
		c.Producer.Return.Successes = true
		return c
	}())
	if err != nil {
		t.Fatalf("input producer: %v", err)
	}
	defer plain.Close()
	var inputs []*sarama.ProducerMessage
	for i := 0; i < 10; i++ {
		inputs = append(inputs, &sarama.ProducerMessage{Topic: in, Key: sarama.StringEncoder(fmt.Sprint("k", i)), Value: sarama.StringEncoder(fmt.Sprintf("in-%02d", i))})
	}
	if err := plain.SendMessages(inputs); err != nil {
		t.Fatalf("produce input: %v", err)
	}

	cfg := saramaConfig("txn", sarama.V4_1_0_0)
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Return.Successes = true
	cfg.Producer.Transaction.ID = unique("go-sarama-txn")
	producer, err := sarama.NewSyncProducer([]string{bootstrap(t)}, cfg)
	if err != nil {
		t.Fatalf("transactional producer: %v", err)
	}
	defer producer.Close()

	produced := map[recPos]bool{}
	committed := map[recPos]bool{}
	aborted := map[recPos]string{}
	if err := producer.BeginTxn(); err != nil {
		t.Fatalf("begin: %v", err)
	}
	for i := 0; i < 4; i++ {
		m := &sarama.ProducerMessage{Topic: out, Partition: int32(i % 2), Key: sarama.StringEncoder(fmt.Sprint("k", i)), Value: sarama.StringEncoder(fmt.Sprint("ABORTED-", i))}
		if _, _, err := producer.SendMessage(m); err != nil {
			t.Fatalf("send in the aborted transaction: %v", err)
		}
		produced[recPos{m.Partition, m.Offset}] = true
		aborted[recPos{m.Partition, m.Offset}] = fmt.Sprint("ABORTED-", i)
	}
	if err := producer.AbortTxn(); err != nil {
		t.Fatalf("abort: %v", err)
	}

	readCfg := saramaConfig("txn-read", sarama.V4_1_0_0)
	readCfg.Consumer.IsolationLevel = sarama.ReadCommitted
	consumer, err := sarama.NewConsumer([]string{bootstrap(t)}, readCfg)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer consumer.Close()
	if err := producer.BeginTxn(); err != nil {
		t.Fatalf("begin: %v", err)
	}
	var want []string
	for p := int32(0); p < 2; p++ {
		pc, err := consumer.ConsumePartition(in, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("consume input: %v", err)
		}
		n := 0
		for _, m := range inputs {
			if m.Partition == p {
				n++
			}
		}
		for i := 0; i < n; i++ {
			var msg *sarama.ConsumerMessage
			select {
			case msg = <-pc.Messages():
			case <-time.After(20 * time.Second):
				t.Fatalf("input partition %d: %d of %d records", p, i, n)
			}
			v := strings.ToUpper(string(msg.Value))
			want = append(want, v)
			o := &sarama.ProducerMessage{Topic: out, Key: sarama.ByteEncoder(msg.Key), Value: sarama.StringEncoder(v)}
			if _, _, err := producer.SendMessage(o); err != nil {
				t.Fatalf("send in the committed transaction: %v", err)
			}
			produced[recPos{o.Partition, o.Offset}] = true
			committed[recPos{o.Partition, o.Offset}] = true
			if err := producer.AddMessageToTxn(msg, group, nil); err != nil {
				t.Fatalf("add message offset to the transaction: %v", err)
			}
		}
		_ = pc.Close()
	}
	if err := producer.CommitTxn(); err != nil {
		t.Fatalf("commit: %v", err)
	}

	got := readSaramaIsolated(t, readCfg, out, 2, committed)
	var gotValues []string
	for _, v := range got {
		gotValues = append(gotValues, v)
	}
	if d := diffMultisets(want, gotValues); d != "" {
		t.Fatalf("read_committed output is not exactly the transformed input: %s", d)
	}
	uncommittedCfg := saramaConfig("txn-read-uncommitted", sarama.V4_1_0_0)
	all := readSaramaIsolated(t, uncommittedCfg, out, 2, produced)
	for at, v := range aborted {
		if all[at] != v {
			t.Fatalf("aborted record at %v reads %q, want %q", at, all[at], v)
		}
	}

	ends := endOffsets(t, ctx, adm, in)
	offsets, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	for p := int32(0); p < 2; p++ {
		if o, ok := offsets.Lookup(in, p); !ok || o.Err != nil || o.At != ends[p] {
			t.Fatalf("group offset of %s-%d: %+v (found %v), want %d", in, p, o, ok, ends[p])
		}
	}
}
