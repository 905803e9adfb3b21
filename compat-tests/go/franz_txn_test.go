package compat

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

type recPos struct {
	p int32
	o int64
}

// readExactly reads topic from the start with the given isolation level
// until every position in want has been read; a record at any other
// position fails the test. Returns the values read by position.
func readExactly(t *testing.T, ctx context.Context, name, topic string, level kgo.IsolationLevel, want map[recPos]bool) map[recPos]string {
	t.Helper()
	cl := newClient(t, name,
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(level),
		kgo.FetchMaxWait(200*time.Millisecond))
	defer closeClient(cl)
	got := map[recPos]string{}
	for len(got) < len(want) {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: read %d of %d records before the deadline", name, len(got), len(want))
		}
		fetches.EachError(func(topic string, p int32, err error) {
			t.Fatalf("%s: fetch %s-%d: %v", name, topic, p, err)
		})
		fetches.EachRecord(func(r *kgo.Record) {
			at := recPos{r.Partition, r.Offset}
			if !want[at] {
				t.Fatalf("%s: read %q at %v, which is not among the %d expected records", name, r.Value, at, len(want))
			}
			got[at] = string(r.Value)
		})
	}
	return got
}

// TestFranzGroupTransactSession: consume-transform-produce with franz-go's
// GroupTransactSession (exactly once: each input upper-cased into the output
// topic and its offset committed in the same transaction). One transaction
// is ended with an abort mid-way, so the session rewinds and processes its
// records again; another transactional producer aborts a transaction of its
// own. Read with read_committed, the output is exactly the transformed input,
// each record once; read_uncommitted shows the aborted records were written.
func TestFranzGroupTransactSession(t *testing.T) {
	ctx := testCtx(t, 90*time.Second)
	adm := newAdmin(t)
	in, out := unique("go-franz-txn-in"), unique("go-franz-txn-out")
	group, txnID := unique("go-franz-eos"), unique("go-franz-eos-txn")
	createTopic(t, ctx, adm, in, 3, nil)
	createTopic(t, ctx, adm, out, 3, nil)

	produced := map[recPos]bool{}  // every record written to out
	committed := map[recPos]bool{} // those in committed transactions
	aborted := map[recPos]string{} // those in aborted transactions

	// Another producer's aborted transaction, first in every partition.
	abortID := unique("go-franz-abort-txn")
	aborter := newClient(t, "aborter", kgo.TransactionalID(abortID), kgo.DefaultProduceTopic(out),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := aborter.BeginTransaction(); err != nil {
		t.Fatalf("begin: %v", err)
	}
	var abortRecs []*kgo.Record
	for i := 0; i < 6; i++ {
		abortRecs = append(abortRecs, &kgo.Record{Partition: int32(i % 3), Value: []byte(fmt.Sprint("ABORTED-", i))})
	}
	results := aborter.ProduceSync(ctx, abortRecs...)
	if err := results.FirstErr(); err != nil {
		t.Fatalf("produce in the aborted transaction: %v", err)
	}
	for _, r := range results {
		at := recPos{r.Record.Partition, r.Record.Offset}
		produced[at] = true
		aborted[at] = string(r.Record.Value)
	}
	if err := aborter.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatalf("abort: %v", err)
	}

	inputProducer := newClient(t, "txn-input", kgo.DefaultProduceTopic(in), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var inputs []string
	produceInput := func(from, n int) {
		var recs []*kgo.Record
		for i := from; i < from+n; i++ {
			v := fmt.Sprintf("in-%03d", i)
			inputs = append(inputs, v)
			recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprint("k", i)), Value: []byte(v), Partition: int32(i % 3)})
		}
		if err := inputProducer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce input: %v", err)
		}
	}

	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(bootstrap(t)),
		kgo.ClientID("go-compat-eos"),
		franzLogger("eos"),
		kgo.TransactionalID(txnID),
		kgo.TransactionTimeout(20*time.Second),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(in),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DefaultProduceTopic(out),
		kgo.HeartbeatInterval(200*time.Millisecond),
		kgo.FetchMaxWait(200*time.Millisecond),
	)
	if err != nil {
		t.Fatalf("new group transact session: %v", err)
	}
	defer sess.Close()

	var transformed []string // inputs whose transaction committed
	// transact runs one transaction over at most four polled records and
	// ends it with a commit or an abort; it returns how many records it
	// processed (0: the poll was empty, nothing begun).
	transact := func(commit kgo.TransactionEndTry) int {
		fetches := sess.PollRecords(ctx, 4)
		if ctx.Err() != nil {
			t.Fatalf("deadline: %d of %d inputs committed", len(transformed), len(inputs))
		}
		fetches.EachError(func(topic string, p int32, err error) {
			t.Fatalf("session fetch %s-%d: %v", topic, p, err)
		})
		recs := fetches.Records()
		if len(recs) == 0 {
			return 0
		}
		if err := sess.Begin(); err != nil {
			t.Fatalf("begin: %v", err)
		}
		var outRecs []*kgo.Record
		for _, r := range recs {
			outRecs = append(outRecs, &kgo.Record{Key: r.Key, Value: []byte(strings.ToUpper(string(r.Value)))})
		}
		results := sess.ProduceSync(ctx, outRecs...)
		if err := results.FirstErr(); err != nil {
			t.Fatalf("produce in a transaction: %v", err)
		}
		ok, err := sess.End(ctx, commit)
		if err != nil {
			t.Fatalf("end transaction (commit %v): %v", commit, err)
		}
		if commit == kgo.TryAbort && ok {
			t.Fatalf("End(TryAbort) reported a commit")
		}
		for i, r := range results {
			at := recPos{r.Record.Partition, r.Record.Offset}
			produced[at] = true
			if ok {
				committed[at] = true
				transformed = append(transformed, string(recs[i].Value))
			} else {
				aborted[at] = string(r.Record.Value)
			}
		}
		return len(recs)
	}
	untilAllCommitted := func() {
		for len(transformed) < len(inputs) {
			transact(kgo.TryCommit)
		}
	}

	// Phase 1: nine inputs, every partition gets a committed offset.
	produceInput(0, 9)
	untilAllCommitted()
	// Phase 2: the first transaction over new inputs aborts; the session
	// rewinds to the committed offsets and the records are processed again.
	produceInput(9, 12)
	abortedInputs := 0
	for abortedInputs == 0 {
		abortedInputs = transact(kgo.TryAbort)
	}
	untilAllCommitted()
	if d := diffMultisets(inputs, transformed); d != "" {
		t.Fatalf("inputs committed through the session differ from the inputs: %s", d)
	}
	sess.Close()

	// read_committed: exactly the transformed inputs, nothing aborted.
	got := readExactly(t, ctx, "read-committed", out, kgo.ReadCommitted(), committed)
	var gotValues, wantValues []string
	for _, v := range got {
		gotValues = append(gotValues, v)
	}
	for _, v := range inputs {
		wantValues = append(wantValues, strings.ToUpper(v))
	}
	if d := diffMultisets(wantValues, gotValues); d != "" {
		t.Fatalf("read_committed output is not exactly the transformed input: %s", d)
	}
	// read_uncommitted: the aborted records are there too.
	all := readExactly(t, ctx, "read-uncommitted", out, kgo.ReadUncommitted(), produced)
	for at, v := range aborted {
		if all[at] != v {
			t.Fatalf("aborted record at %v reads %q, want %q", at, all[at], v)
		}
	}
	if len(aborted) != 6+abortedInputs {
		t.Fatalf("%d aborted records, want %d", len(aborted), 6+abortedInputs)
	}

	// The group's offsets were committed with the transactions.
	ends := endOffsets(t, ctx, adm, in)
	offsets, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	for p := int32(0); p < 3; p++ {
		if o, ok := offsets.Lookup(in, p); !ok || o.Err != nil || o.At != ends[p] {
			t.Fatalf("group offset of %s-%d: %+v (found %v), want %d", in, p, o, ok, ends[p])
		}
	}
	t.Logf("%d inputs committed exactly once; %d records aborted (%d by the session's abort); %d output records in all",
		len(transformed), len(aborted), abortedInputs, len(produced))
	eventually(t, 10*time.Second, "transactions complete", func() string {
		described, err := adm.DescribeTransactions(ctx, txnID, abortID)
		if err != nil {
			return err.Error()
		}
		s1, s2 := described[txnID].State, described[abortID].State
		if s1 == "CompleteCommit" && s2 == "CompleteAbort" {
			return ""
		}
		return fmt.Sprintf("session's transaction %q, aborter's %q", s1, s2)
	})
	listed, err := adm.ListTransactions(ctx, nil, []string{"CompleteCommit"})
	if err != nil {
		t.Fatalf("list transactions: %v", err)
	}
	if l, ok := listed[txnID]; !ok || l.State != "CompleteCommit" {
		t.Fatalf("listed transaction %s: %+v (found %v)", txnID, l, ok)
	}
	if _, ok := listed[abortID]; ok {
		t.Fatalf("%s (CompleteAbort) listed under the CompleteCommit filter", abortID)
	}
}
