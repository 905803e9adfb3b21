package compat

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// groupMember is one kgo group consumer whose current assignment is tracked
// through the rebalance callbacks.
type groupMember struct {
	name  string
	cl    *kgo.Client
	mu    sync.Mutex
	owned map[int32]bool
}

func (m *groupMember) ownedCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.owned)
}

func newGroupMember(t *testing.T, name, group, topic string, extra ...kgo.Opt) *groupMember {
	m := &groupMember{name: name, owned: map[int32]bool{}}
	drop := func(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, p := range ps[topic] {
			delete(m.owned, p)
		}
	}
	opts := []kgo.Opt{
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.HeartbeatInterval(200 * time.Millisecond),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, p := range ps[topic] {
				m.owned[p] = true
			}
		}),
		kgo.OnPartitionsRevoked(drop),
		kgo.OnPartitionsLost(drop),
	}
	m.cl = newClient(t, name, append(opts, extra...)...)
	return m
}

// consumeInto polls m until ctx ends, recording every record's value and
// which member read it; a record read twice is an error.
func (m *groupMember) consumeInto(ctx context.Context, wg *sync.WaitGroup, mu *sync.Mutex, seen map[string]string, errs *[]string) {
	defer wg.Done()
	for ctx.Err() == nil {
		fetches := m.cl.PollFetches(ctx)
		mu.Lock()
		fetches.EachError(func(topic string, p int32, err error) {
			if ctx.Err() == nil {
				*errs = append(*errs, fmt.Sprintf("%s: fetch %s-%d: %v", m.name, topic, p, err))
			}
		})
		fetches.EachRecord(func(r *kgo.Record) {
			v := string(r.Value)
			if prev, dup := seen[v]; dup {
				*errs = append(*errs, fmt.Sprintf("%s consumed %s again (first by %s)", m.name, v, prev))
			}
			seen[v] = m.name
		})
		mu.Unlock()
	}
}

// TestFranzCooperativeStickyGroup: two kgo members of one group with the
// cooperative-sticky balancer split six partitions three and three, read
// every record exactly once and commit; the broker reports the group, its
// protocol and the committed offsets; after both leave, a new member resumes
// from the commits and reads only the records produced since.
func TestFranzCooperativeStickyGroup(t *testing.T) {
	ctx := testCtx(t, 90*time.Second)
	adm := newAdmin(t)
	topic := unique("go-franz-group")
	group := unique("go-franz-coop")
	const partitions = 6
	createTopic(t, ctx, adm, topic, partitions, nil)

	a := newGroupMember(t, "coop-a", group, topic)
	b := newGroupMember(t, "coop-b", group, topic)
	pollCtx, stopPolling := context.WithCancel(ctx)
	defer stopPolling()
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]string{}
	var errs []string
	wg.Add(2)
	go a.consumeInto(pollCtx, &wg, &mu, seen, &errs)
	go b.consumeInto(pollCtx, &wg, &mu, seen, &errs)

	// Produce only once the split is settled, so no record is read by a
	// member that then gives its partition away before committing.
	eventually(t, 30*time.Second, "cooperative-sticky split of 6 partitions", func() string {
		na, nb := a.ownedCount(), b.ownedCount()
		if na == 3 && nb == 3 {
			return ""
		}
		return fmt.Sprintf("a owns %d, b owns %d", na, nb)
	})

	producer := newClient(t, "group-producer", kgo.DefaultProduceTopic(topic))
	produce := func(from, n int) []string {
		var values []string
		var recs []*kgo.Record
		for i := from; i < from+n; i++ {
			v := fmt.Sprintf("record-%04d", i)
			values = append(values, v)
			recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprint("k", i)), Value: []byte(v)})
		}
		if err := producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
		return values
	}
	want := produce(0, 120)

	eventually(t, 30*time.Second, "both members consume all 120 records", func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) > 0 {
			t.Fatalf("consuming: %v", errs)
		}
		if len(seen) >= len(want) {
			return ""
		}
		return fmt.Sprintf("%d of %d consumed", len(seen), len(want))
	})
	stopPolling()
	wg.Wait()
	mu.Lock()
	got := make([]string, 0, len(seen))
	byMember := map[string]int{}
	for v, who := range seen {
		got = append(got, v)
		byMember[who]++
	}
	mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("consuming: %v", errs)
	}
	if d := diffMultisets(want, got); d != "" {
		t.Fatalf("consumed records differ from produced: %s", d)
	}
	if byMember["coop-a"] == 0 || byMember["coop-b"] == 0 {
		t.Fatalf("one member consumed nothing: %v", byMember)
	}

	for _, m := range []*groupMember{a, b} {
		if err := m.cl.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatalf("%s commit: %v", m.name, err)
		}
	}
	ends := endOffsets(t, ctx, adm, topic)
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	for p := int32(0); p < partitions; p++ {
		c, ok := committed.Lookup(topic, p)
		if !ok || c.Err != nil || c.At != ends[p] {
			t.Fatalf("partition %d: committed %+v, want offset %d", p, c, ends[p])
		}
	}

	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatalf("describe group: %v", err)
	}
	dg := described[group]
	if dg.Err != nil || dg.State != "Stable" || dg.ProtocolType != "consumer" || dg.Protocol != "cooperative-sticky" || len(dg.Members) != 2 {
		t.Fatalf("described group: state %q protocol %q/%q, %d members, err %v", dg.State, dg.ProtocolType, dg.Protocol, len(dg.Members), dg.Err)
	}
	for _, m := range dg.Members {
		c, ok := m.Assigned.AsConsumer()
		if !ok || len(c.Topics) != 1 || len(c.Topics[0].Partitions) != 3 {
			t.Fatalf("member %s assignment %+v, want 3 partitions of %s", m.MemberID, c, topic)
		}
	}
	if n := len(dg.AssignedPartitions()[topic]); n != partitions {
		t.Fatalf("described assignment covers %d partitions, want %d", n, partitions)
	}
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatalf("list groups: %v", err)
	}
	if lg, ok := listed[group]; !ok || lg.State != "Stable" || lg.ProtocolType != "consumer" {
		t.Fatalf("listed group %+v (present %v)", lg, ok)
	}

	closeClient(a.cl)
	closeClient(b.cl)
	eventually(t, 20*time.Second, "group empty after both members leave", func() string {
		d, err := adm.DescribeGroups(ctx, group)
		if err != nil {
			return err.Error()
		}
		if g := d[group]; g.State != "Empty" || len(g.Members) != 0 {
			return fmt.Sprintf("state %q with %d members", g.State, len(g.Members))
		}
		return ""
	})

	// A new member resumes at the committed offsets.
	later := produce(1000, 12)
	c := newGroupMember(t, "coop-c", group, topic)
	seenC := map[string]string{}
	var errsC []string
	resumeCtx, stopResume := context.WithCancel(ctx)
	defer stopResume()
	wg.Add(1)
	go c.consumeInto(resumeCtx, &wg, &mu, seenC, &errsC)
	// Records of a partition arrive in offset order, so once every later
	// record is in, a member that started before the commits would already
	// have delivered older records too.
	eventually(t, 30*time.Second, "new member consumes the 12 later records", func() string {
		mu.Lock()
		defer mu.Unlock()
		for _, v := range later {
			if _, ok := seenC[v]; !ok {
				return fmt.Sprintf("%d of %d consumed, %s missing", len(seenC), len(later), v)
			}
		}
		return ""
	})
	stopResume()
	wg.Wait()
	var gotC []string
	for v := range seenC {
		gotC = append(gotC, v)
	}
	if len(errsC) > 0 {
		t.Fatalf("resuming: %v", errsC)
	}
	if d := diffMultisets(later, gotC); d != "" {
		t.Fatalf("resumed member read something other than the 12 later records: %s", d)
	}
}
