package compat

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func (m *groupMember) ownedSorted() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ps []int32
	for p := range m.owned {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}

// TestFranzStaticMembership: two static members (KIP-345 instance ids)
// share four partitions, "static-a" the leader (it joins first). A member
// closed (a static member sends no LeaveGroup) and restarted with its
// instance id within the session timeout gets its partitions back in the
// same generation, and the other member sees no rebalance.
//
// With cooperative-sticky only the follower restarts: a restarted leader
// has forgotten what it owned, balances anew and, when its plan differs from
// the one the broker kept (KIP-814), kgo deliberately forces a rebalance,
// against Kafka too. With range (kgo orders static members by instance id,
// so a restarted leader computes the plan the group has) both restart.
func TestFranzStaticMembership(t *testing.T) {
	cases := []struct {
		name     string
		balancer kgo.GroupBalancer
		restarts []string
	}{
		{"cooperative-sticky", kgo.CooperativeStickyBalancer(), []string{"static-b"}},
		{"range", kgo.RangeBalancer(), []string{"static-b", "static-a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { staticMembership(t, c.balancer, c.restarts) })
	}
}

func staticMembership(t *testing.T, balancer kgo.GroupBalancer, restarts []string) {
	ctx := testCtx(t, 60*time.Second)
	adm := newAdmin(t)
	topic := unique("go-franz-static")
	group := unique("go-franz-static")
	createTopic(t, ctx, adm, topic, 4, nil)
	static := func(name string) *groupMember {
		m := newGroupMember(t, name, group, topic, kgo.InstanceID(name), kgo.SessionTimeout(30*time.Second),
			kgo.Balancers(balancer))
		// Group membership progresses while the client polls.
		go func() {
			for {
				if f := m.cl.PollFetches(ctx); f.IsClientClosed() || ctx.Err() != nil {
					return
				}
			}
		}()
		return m
	}
	members := map[string]*groupMember{"static-a": static("static-a")}
	eventually(t, 20*time.Second, "static-a alone owns every partition", func() string {
		if n := members["static-a"].ownedCount(); n != 4 {
			return fmt.Sprintf("owns %d", n)
		}
		return ""
	})
	members["static-b"] = static("static-b")
	eventually(t, 30*time.Second, "two static members own two partitions each", func() string {
		a, b := members["static-a"].ownedCount(), members["static-b"].ownedCount()
		_, ga := members["static-a"].cl.GroupMetadata()
		_, gb := members["static-b"].cl.GroupMetadata()
		if a == 2 && b == 2 && ga == gb {
			return ""
		}
		return fmt.Sprintf("a owns %d (generation %d), b owns %d (generation %d)", a, ga, b, gb)
	})
	_, generation := members["static-a"].cl.GroupMetadata()

	for _, name := range restarts {
		other := "static-a"
		if name == other {
			other = "static-b"
		}
		before := members[name].ownedSorted()
		otherBefore := members[other].ownedSorted()
		closeClient(members[name].cl)
		d, err := adm.DescribeGroups(ctx, group)
		if err != nil || len(d[group].Members) != 2 {
			t.Fatalf("after closing static %s: %v, %d members (a static member leaves no LeaveGroup)", name, err, len(d[group].Members))
		}
		members[name] = static(name)
		eventually(t, 20*time.Second, name+" restarted with its partitions", func() string {
			owned := members[name].ownedSorted()
			if reflect.DeepEqual(owned, before) {
				return ""
			}
			return fmt.Sprintf("owns %v, owned %v before the restart", owned, before)
		})
		if _, g := members[name].cl.GroupMetadata(); g != generation {
			t.Fatalf("restarted %s is in generation %d, want %d (no rebalance)", name, g, generation)
		}
		if _, g := members[other].cl.GroupMetadata(); g != generation {
			t.Fatalf("%s moved to generation %d, want %d (no rebalance)", other, g, generation)
		}
		if owned := members[other].ownedSorted(); !reflect.DeepEqual(owned, otherBefore) {
			t.Fatalf("%s owns %v, owned %v before %s restarted", other, owned, otherBefore, name)
		}
		d, err = adm.DescribeGroups(ctx, group)
		if err != nil || d[group].State != "Stable" || len(d[group].Members) != 2 {
			t.Fatalf("after restarting %s: %v, state %q with %d members", name, err, d[group].State, len(d[group].Members))
		}
	}
}
