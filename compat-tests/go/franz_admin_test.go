package compat

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func str(s string) *string { return &s }

// describeConfig returns one topic config as kadm describes it.
func describeConfig(ctx context.Context, adm *kadm.Client, topic, key string) (kadm.Config, error) {
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return kadm.Config{}, err
	}
	rc, err := rcs.On(topic, nil)
	if err != nil {
		return kadm.Config{}, err
	}
	if rc.Err != nil {
		return kadm.Config{}, rc.Err
	}
	for _, c := range rc.Configs {
		if c.Key == key {
			return c, nil
		}
	}
	return kadm.Config{}, fmt.Errorf("config %s not described", key)
}

// expectConfig waits until a described topic config has the value and
// source (Kafka applies config changes asynchronously) and checks that its
// synonyms name the given key; with synonym "", only that no synonym is a
// topic override (Kafka lists none for keys whose broker key has no default,
// such as retention.ms).
func expectConfig(t *testing.T, adm *kadm.Client, topic, key, value string, source kmsg.ConfigSource, synonym string) {
	t.Helper()
	ctx := testCtx(t, 20*time.Second)
	var c kadm.Config
	eventually(t, 10*time.Second, fmt.Sprintf("%s %s = %q (%v)", topic, key, value, source), func() string {
		var err error
		c, err = describeConfig(ctx, adm, topic, key)
		if err != nil {
			return err.Error()
		}
		if c.MaybeValue() != value || c.Source != source {
			return fmt.Sprintf("%q (%v)", c.MaybeValue(), c.Source)
		}
		return ""
	})
	found := synonym == ""
	for _, s := range c.Synonyms {
		found = found || s.Key == synonym
		if synonym == "" && s.Source == kmsg.ConfigSourceDynamicTopicConfig {
			t.Fatalf("%s %s: a topic override among the synonyms %+v", topic, key, c.Synonyms)
		}
	}
	if !found {
		t.Fatalf("%s %s: synonyms %+v lack %s", topic, key, c.Synonyms, synonym)
	}
}

// TestFranzAdmin drives kadm through topics (create, list, describe, delete),
// configs (describe with sources and synonyms, incremental and whole-set
// alter, a refused value), partitions, offsets (start, end, by timestamp,
// max timestamp), DeleteRecords and group offsets (commit, fetch, list,
// describe, delete).
func TestFranzAdmin(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	adm := newAdmin(t)
	topicA := unique("go-kadm-a")
	topicB := unique("go-kadm-b")

	created, err := adm.CreateTopics(ctx, 3, 1, map[string]*string{"retention.ms": str("3600000")}, topicA, topicB)
	if err != nil {
		t.Fatalf("create topics: %v", err)
	}
	for _, topic := range []string{topicA, topicB} {
		c := created[topic]
		if c.Err != nil || c.NumPartitions != 3 || c.ReplicationFactor != 1 || c.ID == (kadm.TopicID{}) {
			t.Fatalf("created %s: %+v", topic, c)
		}
		if v := c.Configs["retention.ms"]; v.MaybeValue() != "3600000" {
			t.Fatalf("created %s: retention.ms %q in the response, want 3600000", topic, v.MaybeValue())
		}
	}
	again, err := adm.CreateTopics(ctx, 3, 1, nil, topicA)
	if err != nil || !errors.Is(again[topicA].Err, kerr.TopicAlreadyExists) {
		t.Fatalf("creating %s twice: %v %v, want TOPIC_ALREADY_EXISTS", topicA, err, again[topicA].Err)
	}

	meta, err := adm.BrokerMetadata(ctx)
	nodes := brokerCount(t)
	if err != nil || meta.Cluster == "" || meta.Controller < 1 || meta.Controller > nodes || int32(len(meta.Brokers)) != nodes {
		t.Fatalf("broker metadata: %v; cluster %q, controller %d, brokers %+v; want %d brokers", err, meta.Cluster, meta.Controller, meta.Brokers, nodes)
	}
	advertised := false
	for i, b := range meta.Brokers { // sorted by node id
		if b.NodeID != int32(i+1) || b.Host != "127.0.0.1" {
			t.Fatalf("broker %d: %+v, want node ids 1..%d on 127.0.0.1", i, b, nodes)
		}
		advertised = advertised || fmt.Sprintf("%s:%d", b.Host, b.Port) == bootstrap(t)
	}
	if !advertised {
		t.Fatalf("no broker advertises the bootstrap address %s: %+v", bootstrap(t), meta.Brokers)
	}
	// Kafka's brokers (and ours in a cluster) learn of new topics from the
	// metadata log, a moment after CreateTopics answers.
	eventually(t, 10*time.Second, "created topics listed", func() string {
		all, err := adm.ListTopics(ctx)
		if err != nil {
			return err.Error()
		}
		if !all.Has(topicA) || !all.Has(topicB) {
			return fmt.Sprintf("listed %v", all.Names())
		}
		if all.Has("__consumer_offsets") {
			t.Fatalf("internal topics listed without asking for them: %v", all.Names())
		}
		return ""
	})
	details, err := adm.ListTopics(ctx, topicA)
	if err != nil {
		t.Fatalf("describe %s: %v", topicA, err)
	}
	d := details[topicA]
	if d.Err != nil || len(d.Partitions) != 3 || d.ID != created[topicA].ID {
		t.Fatalf("described %s: %+v", topicA, d)
	}
	for p, pd := range d.Partitions {
		if pd.Err != nil || pd.Leader < 1 || pd.Leader > nodes || !reflect.DeepEqual(pd.Replicas, []int32{pd.Leader}) || !reflect.DeepEqual(pd.ISR, []int32{pd.Leader}) {
			t.Fatalf("%s-%d: %+v", topicA, p, pd)
		}
	}

	// Configs: sources and synonyms as Kafka reports them.
	expectConfig(t, adm, topicA, "retention.ms", "3600000", kmsg.ConfigSourceDynamicTopicConfig, "retention.ms")
	expectConfig(t, adm, topicA, "cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig, "log.cleanup.policy")
	expectConfig(t, adm, topicA, "max.message.bytes", "1048588", kmsg.ConfigSourceDefaultConfig, "message.max.bytes")
	brokerConfigs, err := adm.DescribeBrokerConfigs(ctx, 1)
	if err != nil {
		t.Fatalf("describe broker configs: %v", err)
	}
	rc, err := brokerConfigs.On("1", nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describe broker 1: %v %v", err, rc.Err)
	}
	brokerKeys := map[string]string{}
	for _, c := range rc.Configs {
		brokerKeys[c.Key] = c.MaybeValue()
	}
	if brokerKeys["node.id"] != "1" || brokerKeys["log.cleanup.policy"] != "delete" {
		t.Fatalf("broker 1 configs: node.id %q, log.cleanup.policy %q", brokerKeys["node.id"], brokerKeys["log.cleanup.policy"])
	}

	// IncrementalAlterConfigs: set, then delete back to the default.
	alter := func(configs []kadm.AlterConfig) {
		t.Helper()
		resps, err := adm.AlterTopicConfigs(ctx, configs, topicA)
		if err != nil {
			t.Fatalf("alter configs: %v", err)
		}
		for _, r := range resps {
			if r.Err != nil {
				t.Fatalf("alter configs of %s: %v %s", r.Name, r.Err, r.ErrMessage)
			}
		}
	}
	alter([]kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "retention.ms", Value: str("7200000")},
		{Op: kadm.SetConfig, Name: "max.message.bytes", Value: str("2000000")},
	})
	expectConfig(t, adm, topicA, "retention.ms", "7200000", kmsg.ConfigSourceDynamicTopicConfig, "retention.ms")
	expectConfig(t, adm, topicA, "max.message.bytes", "2000000", kmsg.ConfigSourceDynamicTopicConfig, "max.message.bytes")
	alter([]kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "retention.ms"}})
	expectConfig(t, adm, topicA, "retention.ms", "604800000", kmsg.ConfigSourceDefaultConfig, "")
	bad, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: str("soon")}}, topicA)
	if err != nil || len(bad) != 1 || !errors.Is(bad[0].Err, kerr.InvalidConfig) {
		t.Fatalf("retention.ms=soon: %v %+v, want INVALID_CONFIG", err, bad)
	}
	// AlterConfigs (the whole set): what is not named goes back to its default.
	resps, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "segment.ms", Value: str("3600000")}}, topicA)
	if err != nil || len(resps) != 1 || resps[0].Err != nil {
		t.Fatalf("alter configs (state): %v %+v", err, resps)
	}
	expectConfig(t, adm, topicA, "segment.ms", "3600000", kmsg.ConfigSourceDynamicTopicConfig, "segment.ms")
	expectConfig(t, adm, topicA, "max.message.bytes", "1048588", kmsg.ConfigSourceDefaultConfig, "message.max.bytes")

	// CreatePartitions: 3 -> 5.
	cps, err := adm.CreatePartitions(ctx, 2, topicA)
	if err != nil || cps[topicA].Err != nil {
		t.Fatalf("create partitions: %v %+v", err, cps[topicA])
	}
	eventually(t, 10*time.Second, "5 partitions listed", func() string {
		ds, err := adm.ListTopics(ctx, topicA)
		if err != nil {
			return err.Error()
		}
		if n := len(ds[topicA].Partitions); n != 5 {
			return fmt.Sprintf("%d partitions", n)
		}
		return ""
	})

	// Offsets: ten records in partition 0, a second apart.
	producer := newClient(t, "kadm-producer", kgo.RecordPartitioner(kgo.ManualPartitioner()))
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var recs []*kgo.Record
	for i := 0; i < 10; i++ {
		recs = append(recs, &kgo.Record{Topic: topicA, Partition: 0, Value: []byte(fmt.Sprint(i)), Timestamp: base.Add(time.Duration(i) * time.Second)})
	}
	if err := producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	expectOffset := func(what string, listed kadm.ListedOffsets, err error, p int32, offset int64) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		o, ok := listed.Lookup(topicA, p)
		if !ok || o.Err != nil || o.Offset != offset {
			t.Fatalf("%s of %s-%d: %+v (found %v), want offset %d", what, topicA, p, o, ok, offset)
		}
	}
	starts, err := adm.ListStartOffsets(ctx, topicA)
	expectOffset("start offset", starts, err, 0, 0)
	ends, err := adm.ListEndOffsets(ctx, topicA)
	expectOffset("end offset", ends, err, 0, 10)
	expectOffset("end offset", ends, err, 4, 0)
	after, err := adm.ListOffsetsAfterMilli(ctx, base.Add(4500*time.Millisecond).UnixMilli(), topicA)
	expectOffset("offset after 4.5 s", after, err, 0, 5)
	if ts := after[topicA][0].Timestamp; ts != base.Add(5*time.Second).UnixMilli() {
		t.Fatalf("offset after 4.5 s: timestamp %d, want %d", ts, base.Add(5*time.Second).UnixMilli())
	}
	maxTs, err := adm.ListMaxTimestampOffsets(ctx, topicA)
	expectOffset("max timestamp offset", maxTs, err, 0, 9)

	// DeleteRecords moves the start offset.
	var below kadm.Offsets
	below.AddOffset(topicA, 0, 4, -1)
	deleted, err := adm.DeleteRecords(ctx, below)
	if err != nil {
		t.Fatalf("delete records: %v", err)
	}
	if dr, ok := deleted.Lookup(topicA, 0); !ok || dr.Err != nil || dr.LowWatermark != 4 {
		t.Fatalf("delete records below 4: %+v (found %v)", dr, ok)
	}
	starts, err = adm.ListStartOffsets(ctx, topicA)
	expectOffset("start offset after delete records", starts, err, 0, 4)

	// DescribeLogDirs: the partition with records has bytes on disk.
	dirs, err := adm.DescribeAllLogDirs(ctx, kadm.TopicsSet{topicA: {0: {}, 1: {}}})
	if err != nil {
		t.Fatalf("describe log dirs: %v", err)
	}
	sizes := map[int32]int64{}
	for _, brokerDirs := range dirs {
		for _, d := range brokerDirs {
			if d.Err != nil {
				t.Fatalf("log dir %s: %v", d.Dir, d.Err)
			}
			for p := int32(0); p < 2; p++ {
				if dp, ok := d.Topics[topicA][p]; ok {
					sizes[p] = dp.Size
				}
			}
		}
	}
	if len(sizes) != 2 || sizes[0] <= 0 || sizes[1] != 0 {
		t.Fatalf("log dir sizes of %s-0 and -1: %v, want both listed, data in 0 only", topicA, sizes)
	}

	// Group offsets: commit (simple, no members), fetch, list, describe, delete.
	group := unique("go-kadm-group")
	var commit kadm.Offsets
	commit.Add(kadm.Offset{Topic: topicA, Partition: 0, At: 7, LeaderEpoch: -1, Metadata: "kadm was here"})
	commit.Add(kadm.Offset{Topic: topicA, Partition: 1, At: 0, LeaderEpoch: -1})
	if err := adm.CommitAllOffsets(ctx, group, commit); err != nil {
		t.Fatalf("commit offsets: %v", err)
	}
	// The commit needs __consumer_offsets (Kafka creates it on first use;
	// another broker may list it a moment later).
	eventually(t, 10*time.Second, "__consumer_offsets listed as internal", func() string {
		withInternal, err := adm.ListTopicsWithInternal(ctx)
		if err != nil {
			return err.Error()
		}
		if !withInternal["__consumer_offsets"].IsInternal || !withInternal.Has(topicA) {
			return fmt.Sprintf("__consumer_offsets %+v", withInternal["__consumer_offsets"])
		}
		return ""
	})
	fetched, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	if o, ok := fetched.Lookup(topicA, 0); !ok || o.Err != nil || o.At != 7 || o.Metadata != "kadm was here" {
		t.Fatalf("fetched offset of %s-0: %+v (found %v)", topicA, o, ok)
	}
	if o, ok := fetched.Lookup(topicA, 1); !ok || o.Err != nil || o.At != 0 {
		t.Fatalf("fetched offset of %s-1: %+v (found %v)", topicA, o, ok)
	}
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatalf("list groups: %v", err)
	}
	if lg, ok := listed[group]; !ok || lg.State != "Empty" {
		t.Fatalf("listed group %s: %+v (found %v)", group, lg, ok)
	}
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil || described[group].Err != nil || described[group].State != "Empty" || len(described[group].Members) != 0 {
		t.Fatalf("describe group: %v %+v", err, described[group])
	}
	lags, err := adm.Lag(ctx, group)
	if err != nil {
		t.Fatalf("lag: %v", err)
	}
	if l, ok := lags[group].Lag.Lookup(topicA, 0); !ok || l.Lag != 3 {
		t.Fatalf("lag of %s-0: %+v (found %v), want 3", topicA, l, ok)
	}
	// OffsetDelete: one partition's offset of the (memberless) group.
	deletedOffsets, err := adm.DeleteOffsets(ctx, group, kadm.TopicsSet{topicA: {1: {}}})
	if err != nil {
		t.Fatalf("delete offsets: %v", err)
	}
	if e, ok := deletedOffsets.Lookup(topicA, 1); !ok || e != nil {
		t.Fatalf("delete offset of %s-1: %v (found %v)", topicA, e, ok)
	}
	fetched, err = adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets after delete offsets: %v", err)
	}
	if o, ok := fetched.Lookup(topicA, 1); ok && o.At >= 0 {
		t.Fatalf("deleted offset of %s-1 still fetched: %+v", topicA, o)
	}
	if o, ok := fetched.Lookup(topicA, 0); !ok || o.At != 7 {
		t.Fatalf("offset of %s-0 after deleting -1's: %+v (found %v)", topicA, o, ok)
	}
	dg, err := adm.DeleteGroup(ctx, group)
	if err != nil || dg.Err != nil {
		t.Fatalf("delete group: %v %v", err, dg.Err)
	}
	listed, err = adm.ListGroups(ctx)
	if _, still := listed[group]; err != nil || still {
		t.Fatalf("group %s still listed after delete (%v)", group, err)
	}
	fetched, err = adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets after delete: %v", err)
	}
	if o, ok := fetched.Lookup(topicA, 0); ok && o.At >= 0 {
		t.Fatalf("offset of a deleted group still fetched: %+v", o)
	}

	// DeleteTopics.
	dts, err := adm.DeleteTopics(ctx, topicA, topicB)
	if err != nil || dts[topicA].Err != nil || dts[topicB].Err != nil {
		t.Fatalf("delete topics: %v %+v", err, dts)
	}
	eventually(t, 10*time.Second, "deleted topics gone from the listing", func() string {
		all, err := adm.ListTopics(ctx)
		if err != nil {
			return err.Error()
		}
		if all.Has(topicA) || all.Has(topicB) {
			return "still listed"
		}
		return ""
	})
}

// TestFranzBrokerConfigs: a cluster-wide dynamic broker default
// (log.retention.ms) set with kadm becomes every topic's retention.ms
// default, described with source DYNAMIC_DEFAULT_BROKER_CONFIG; deleting it
// restores Kafka's default.
func TestFranzBrokerConfigs(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	adm := newAdmin(t)
	topic := unique("go-kadm-broker-configs")
	createTopic(t, ctx, adm, topic, 1, nil)
	alter := func(op kadm.IncrementalOp, value *string) {
		t.Helper()
		resps, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: op, Name: "log.retention.ms", Value: value}})
		if err != nil || len(resps) != 1 || resps[0].Err != nil {
			t.Fatalf("alter cluster default log.retention.ms (op %v): %v %+v", op, err, resps)
		}
	}
	alter(kadm.SetConfig, str("1209600000"))
	restored := false
	t.Cleanup(func() {
		if !restored {
			_, _ = adm.AlterBrokerConfigs(context.Background(), []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "log.retention.ms"}})
		}
	})
	eventually(t, 10*time.Second, "cluster default described", func() string {
		rcs, err := adm.DescribeBrokerConfigs(ctx)
		if err != nil || len(rcs) != 1 {
			return fmt.Sprint(err, rcs)
		}
		for _, c := range rcs[0].Configs {
			if c.Key == "log.retention.ms" && c.MaybeValue() == "1209600000" && c.Source == kmsg.ConfigSourceDynamicDefaultBrokerConfig {
				return ""
			}
		}
		return fmt.Sprintf("%+v", rcs[0].Configs)
	})
	expectConfig(t, adm, topic, "retention.ms", "1209600000", kmsg.ConfigSourceDynamicDefaultBrokerConfig, "log.retention.ms")
	alter(kadm.DeleteConfig, nil)
	restored = true
	expectConfig(t, adm, topic, "retention.ms", "604800000", kmsg.ConfigSourceDefaultConfig, "")
}
