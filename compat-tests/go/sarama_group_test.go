package compat

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// readLog is what the members of a group read, shared between them.
type readLog struct {
	mu   sync.Mutex
	seen map[string]string // value -> member that read it
	errs []string
}

func (l *readLog) add(member, value string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, dup := l.seen[value]; dup {
		l.errs = append(l.errs, fmt.Sprintf("%s read %s again (first read by %s)", member, value, prev))
	}
	l.seen[value] = member
}

func (l *readLog) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, fmt.Sprintf(format, args...))
}

// missing describes the wanted values not read yet and any error so far
// ("" when every wanted value was read).
func (l *readLog) missing(want []string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) > 0 {
		return fmt.Sprint("errors: ", l.errs)
	}
	n := 0
	for _, v := range want {
		if _, ok := l.seen[v]; !ok {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d not read yet", n, len(want))
}

func (l *readLog) values() ([]string, map[string]int, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var vs []string
	by := map[string]int{}
	for v, who := range l.seen {
		vs = append(vs, v)
		by[who]++
	}
	return vs, by, append([]string(nil), l.errs...)
}

// saramaMember is one sarama.ConsumerGroup member; its handler keeps the
// claims of the current session and marks every message it reads.
type saramaMember struct {
	name  string
	group sarama.ConsumerGroup
	log   *readLog
	done  chan struct{}

	mu         sync.Mutex
	generation int32
	claims     []int32 // partitions of the current session, nil between sessions
	sessions   int     // sessions begun (one per generation it took part in)
}

func (m *saramaMember) Setup(s sarama.ConsumerGroupSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.generation = s.GenerationID()
	m.sessions++
	m.claims = []int32{}
	for _, ps := range s.Claims() {
		m.claims = append(m.claims, ps...)
	}
	sort.Slice(m.claims, func(i, j int) bool { return m.claims[i] < m.claims[j] })
	return nil
}

func (m *saramaMember) Cleanup(sarama.ConsumerGroupSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.claims = nil
	return nil
}

func (m *saramaMember) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for {
		select {
		case msg, ok := <-c.Messages():
			if !ok {
				return nil
			}
			m.log.add(m.name, string(msg.Value))
			s.MarkMessage(msg, "")
		case <-s.Context().Done():
			return nil
		}
	}
}

func (m *saramaMember) session() (int32, []int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.generation, append([]int32(nil), m.claims...)
}

func (m *saramaMember) sessionCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions
}

// close leaves the group (committing marked offsets) and waits for the
// member's goroutines.
func (m *saramaMember) close(t *testing.T) {
	t.Helper()
	if err := m.group.Close(); err != nil {
		t.Fatalf("%s: close: %v", m.name, err)
	}
	select {
	case <-m.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: consume loop did not end after close", m.name)
	}
}

// startSaramaMember joins group and consumes topic until closed.
func startSaramaMember(t *testing.T, cfg *sarama.Config, name, group, topic string, log *readLog) *saramaMember {
	t.Helper()
	cg, err := sarama.NewConsumerGroup([]string{bootstrap(t)}, group, cfg)
	if err != nil {
		t.Fatalf("%s: new consumer group: %v", name, err)
	}
	m := &saramaMember{name: name, group: cg, log: log, done: make(chan struct{})}
	var closeOnce sync.Once
	t.Cleanup(func() { closeOnce.Do(func() { _ = cg.Close() }) })
	go func() {
		for err := range cg.Errors() {
			// A partition's leader that has not applied a just-created topic
			// yet answers UNKNOWN_TOPIC_OR_PARTITION (Kafka too, and our
			// cluster); Sarama reports it and retries.
			if retriableSarama(name, err) {
				continue
			}
			log.fail("%s: %v", name, err)
		}
	}()
	go func() {
		defer close(m.done)
		for {
			err := cg.Consume(context.Background(), []string{topic}, m)
			if errors.Is(err, sarama.ErrClosedConsumerGroup) {
				return
			}
			if err != nil {
				log.fail("%s consume: %v", name, err)
				return
			}
		}
	}()
	return m
}

// TestSaramaConsumerGroup: for each of Sarama's balance strategies, two
// sarama.ConsumerGroup members split four partitions two and two (the broker
// reports the strategy as the group's protocol), read every record exactly
// once and commit on leaving; a new member resumes at the commits and reads
// only the records produced since. Range also runs at Sarama's default
// version.
func TestSaramaConsumerGroup(t *testing.T) {
	ctx := testCtx(t, 120*time.Second)
	cases := []struct {
		name     string
		strategy sarama.BalanceStrategy
		version  sarama.KafkaVersion
	}{
		{"range", sarama.NewBalanceStrategyRange(), sarama.V4_1_0_0},
		{"roundrobin", sarama.NewBalanceStrategyRoundRobin(), sarama.V4_1_0_0},
		{"sticky", sarama.NewBalanceStrategySticky(), sarama.V4_1_0_0},
		{"range-default-version", sarama.NewBalanceStrategyRange(), sarama.DefaultVersion},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const partitions = 4
			topic := unique("go-sarama-group-" + c.name)
			group := unique("go-sarama-" + c.name)
			adm := newAdmin(t)
			createTopic(t, ctx, adm, topic, partitions, nil)
			cfg := saramaConfig("group-"+c.name, c.version)
			cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{c.strategy}
			admin, err := sarama.NewClusterAdmin([]string{bootstrap(t)}, cfg)
			if err != nil {
				t.Fatalf("cluster admin: %v", err)
			}
			defer admin.Close()

			log := &readLog{seen: map[string]string{}}
			a := startSaramaMember(t, cfg, "a", group, topic, log)
			b := startSaramaMember(t, cfg, "b", group, topic, log)
			// Produce once both members are in one generation with disjoint
			// claims covering every partition.
			eventually(t, 30*time.Second, "two members share the partitions", func() string {
				ga, ca := a.session()
				gb, cb := b.session()
				if ga != gb || len(ca) != 2 || len(cb) != 2 {
					return fmt.Sprintf("a: generation %d claims %v; b: generation %d claims %v", ga, ca, gb, cb)
				}
				union := map[int32]bool{}
				for _, p := range append(ca, cb...) {
					union[p] = true
				}
				if len(union) != partitions {
					return fmt.Sprintf("claims overlap: a %v, b %v", ca, cb)
				}
				return ""
			})
			groups, err := admin.DescribeConsumerGroups([]string{group})
			if err != nil || len(groups) != 1 {
				t.Fatalf("describe consumer groups: %v %v", err, groups)
			}
			g := groups[0]
			if g.Err != sarama.ErrNoError || g.State != "Stable" || g.ProtocolType != "consumer" || g.Protocol != c.strategy.Name() || len(g.Members) != 2 {
				t.Fatalf("described group: err %v state %q protocol %q/%q, %d members; want Stable consumer/%s with 2",
					g.Err, g.State, g.ProtocolType, g.Protocol, len(g.Members), c.strategy.Name())
			}
			listed, err := admin.ListConsumerGroups()
			if err != nil || listed[group] != "consumer" {
				t.Fatalf("list consumer groups: %v; %s -> %q", err, group, listed[group])
			}

			producer, err := sarama.NewSyncProducer([]string{bootstrap(t)}, func() *sarama.Config {
				pc := saramaConfig("group-producer", c.version)
				pc.Producer.Return.Successes = true
				return pc
			}())
			if err != nil {
				t.Fatalf("producer: %v", err)
			}
			defer producer.Close()
			produce := func(from, n int) []string {
				var vs []string
				var msgs []*sarama.ProducerMessage
				for i := from; i < from+n; i++ {
					v := fmt.Sprintf("%s-%04d", c.name, i)
					vs = append(vs, v)
					msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(fmt.Sprint(i)), Value: sarama.StringEncoder(v)})
				}
				if err := producer.SendMessages(msgs); err != nil {
					t.Fatalf("produce: %v", err)
				}
				return vs
			}
			want := produce(0, 40)
			eventually(t, 30*time.Second, "the members read all 40 records", func() string { return log.missing(want) })
			a.close(t)
			b.close(t)
			got, byMember, errs := log.values()
			if len(errs) > 0 {
				t.Fatalf("consuming: %v", errs)
			}
			if d := diffMultisets(want, got); d != "" {
				t.Fatalf("read records differ from produced: %s", d)
			}
			if byMember["a"] == 0 || byMember["b"] == 0 {
				t.Fatalf("a member read nothing: %v", byMember)
			}

			// Closing committed the marked offsets: exactly the end offsets.
			ends := endOffsets(t, ctx, adm, topic)
			ps := []int32{0, 1, 2, 3}
			fetched, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: ps})
			if err != nil {
				t.Fatalf("list consumer group offsets: %v", err)
			}
			for _, p := range ps {
				blk := fetched.GetBlock(topic, p)
				if blk == nil || blk.Err != sarama.ErrNoError || blk.Offset != ends[p] {
					t.Fatalf("committed offset of %s-%d: %+v, want %d", topic, p, blk, ends[p])
				}
			}
			eventually(t, 20*time.Second, "group empty after both members left", func() string {
				gs, err := admin.DescribeConsumerGroups([]string{group})
				if err != nil || len(gs) != 1 {
					return fmt.Sprint(err)
				}
				if gs[0].State != "Empty" || len(gs[0].Members) != 0 {
					return fmt.Sprintf("state %q with %d members", gs[0].State, len(gs[0].Members))
				}
				return ""
			})

			// A new member resumes at the commits. Records of a partition
			// arrive in offset order, so once all later records are read, a
			// member that ignored the commits would have read old ones too.
			later := produce(1000, 8)
			resumed := &readLog{seen: map[string]string{}}
			m := startSaramaMember(t, cfg, "c", group, topic, resumed)
			eventually(t, 30*time.Second, "the new member reads the 8 later records", func() string { return resumed.missing(later) })
			m.close(t)
			gotLater, _, errs := resumed.values()
			if len(errs) > 0 {
				t.Fatalf("resuming: %v", errs)
			}
			if d := diffMultisets(later, gotLater); d != "" {
				t.Fatalf("the resumed member read something other than the 8 later records: %s", d)
			}
		})
	}
}
