package compat

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// TestSaramaStaticMembership: two Sarama group members with instance ids
// (KIP-345) share four partitions; each in turn (the follower, then the
// leader) closes, which sends no LeaveGroup, and restarts with its instance
// id: it gets the same partitions in the same generation, and the other
// member's session goes on (no new session begun).
func TestSaramaStaticMembership(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	adm := newAdmin(t)
	topic := unique("go-sarama-static")
	group := unique("go-sarama-static")
	createTopic(t, ctx, adm, topic, 4, nil)
	log := &readLog{seen: map[string]string{}}
	start := func(name string) *saramaMember {
		cfg := saramaConfig("static-"+name, sarama.V4_1_0_0)
		cfg.Consumer.Group.InstanceId = name
		cfg.Consumer.Group.Session.Timeout = 30 * time.Second
		cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
		return startSaramaMember(t, cfg, name, group, topic, log)
	}
	members := map[string]*saramaMember{"a": start("a")}
	eventually(t, 20*time.Second, "a alone claims every partition", func() string {
		if _, c := members["a"].session(); len(c) != 4 {
			return fmt.Sprintf("a claims %v", c)
		}
		return ""
	})
	members["b"] = start("b")
	eventually(t, 30*time.Second, "a and b claim two partitions each", func() string {
		ga, ca := members["a"].session()
		gb, cb := members["b"].session()
		if ga == gb && len(ca) == 2 && len(cb) == 2 {
			return ""
		}
		return fmt.Sprintf("a: generation %d claims %v; b: generation %d claims %v", ga, ca, gb, cb)
	})
	generation, _ := members["a"].session()

	for _, name := range []string{"b", "a"} { // b follows, a leads
		other := map[string]string{"a": "b", "b": "a"}[name]
		_, before := members[name].session()
		_, otherClaims := members[other].session()
		otherSessions := members[other].sessionCount()
		members[name].close(t)
		groups, err := adm.DescribeGroups(ctx, group)
		if err != nil || len(groups[group].Members) != 2 {
			t.Fatalf("after closing static %s: %v, %d members (a static member leaves no LeaveGroup)", name, err, len(groups[group].Members))
		}
		members[name] = start(name)
		eventually(t, 20*time.Second, name+" restarted with its partitions", func() string {
			g, c := members[name].session()
			if g == generation && reflect.DeepEqual(c, before) {
				return ""
			}
			return fmt.Sprintf("generation %d claims %v; before: generation %d claims %v", g, c, generation, before)
		})
		if g, c := members[other].session(); g != generation || !reflect.DeepEqual(c, otherClaims) || members[other].sessionCount() != otherSessions {
			t.Fatalf("%s: generation %d claims %v after %d sessions; before: generation %d claims %v after %d (no rebalance wanted)",
				other, g, c, members[other].sessionCount(), generation, otherClaims, otherSessions)
		}
		groups, err = adm.DescribeGroups(ctx, group)
		if err != nil || groups[group].State != "Stable" || len(groups[group].Members) != 2 {
			t.Fatalf("after restarting %s: %v, state %q with %d members", name, err, groups[group].State, len(groups[group].Members))
		}
	}
	if _, _, errs := log.values(); len(errs) > 0 {
		t.Fatalf("members reported: %v", errs)
	}
}
