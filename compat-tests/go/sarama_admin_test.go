package compat

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// TestSaramaClusterAdmin drives Sarama's ClusterAdmin: describe the cluster,
// create (and fail to re-create) a topic with a config, list and describe
// it, describe and alter its configs, add partitions, commit a group offset
// through Sarama's offset manager and list / describe / fetch / delete that
// group, delete the topic.
func TestSaramaClusterAdmin(t *testing.T) {
	cfg := saramaConfig("admin", sarama.V4_1_0_0)
	addrs := []string{bootstrap(t)}
	admin, err := sarama.NewClusterAdmin(addrs, cfg)
	if err != nil {
		t.Fatalf("cluster admin: %v", err)
	}
	defer admin.Close()

	brokers, controller, err := admin.DescribeCluster()
	nodes := brokerCount(t)
	if err != nil || int32(len(brokers)) != nodes || controller < 1 || controller > nodes {
		t.Fatalf("describe cluster: %v; %d brokers, controller %d; want %d brokers", err, len(brokers), controller, nodes)
	}

	topic := unique("go-sarama-admin")
	retention := "3600000"
	detail := &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1, ConfigEntries: map[string]*string{"retention.ms": &retention}}
	if err := admin.CreateTopic(topic, detail, false); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	if err := admin.CreateTopic(topic, detail, false); !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		t.Fatalf("creating %s twice: %v, want TOPIC_ALREADY_EXISTS", topic, err)
	}
	eventually(t, 10*time.Second, "topic listed with its partitions and config", func() string {
		topics, err := admin.ListTopics()
		if err != nil {
			return err.Error()
		}
		d, ok := topics[topic]
		if !ok {
			return "not listed"
		}
		if d.NumPartitions != 3 || d.ReplicationFactor != 1 || d.ConfigEntries["retention.ms"] == nil || *d.ConfigEntries["retention.ms"] != retention {
			return fmt.Sprintf("listed as %+v", d)
		}
		return ""
	})
	described, err := admin.DescribeTopics([]string{topic})
	if err != nil || len(described) != 1 {
		t.Fatalf("describe topics: %v %v", err, described)
	}
	if d := described[0]; d.Err != sarama.ErrNoError || d.Name != topic || len(d.Partitions) != 3 {
		t.Fatalf("described %+v", d)
	}
	for _, p := range described[0].Partitions {
		if p.Err != sarama.ErrNoError || p.Leader < 1 || p.Leader > nodes || len(p.Replicas) != 1 || p.Replicas[0] != p.Leader || len(p.Isr) != 1 {
			t.Fatalf("partition %d: %+v", p.ID, p)
		}
	}

	configOf := func(name string) (sarama.ConfigEntry, error) {
		entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
		if err != nil {
			return sarama.ConfigEntry{}, err
		}
		for _, e := range entries {
			if e.Name == name {
				return e, nil
			}
		}
		return sarama.ConfigEntry{}, fmt.Errorf("%s not described", name)
	}
	expect := func(name, value string, source sarama.ConfigSource) {
		t.Helper()
		eventually(t, 10*time.Second, fmt.Sprintf("%s = %s (%v)", name, value, source), func() string {
			e, err := configOf(name)
			if err != nil {
				return err.Error()
			}
			if e.Value != value || e.Source != source || e.Default != (source == sarama.SourceDefault) {
				return fmt.Sprintf("%+v", e)
			}
			return ""
		})
	}
	expect("retention.ms", retention, sarama.SourceTopic)
	expect("cleanup.policy", "delete", sarama.SourceDefault)
	maxBytes := "500000"
	if err := admin.IncrementalAlterConfig(sarama.TopicResource, topic, map[string]sarama.IncrementalAlterConfigsEntry{
		"max.message.bytes": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &maxBytes},
	}, false); err != nil {
		t.Fatalf("incremental alter config: %v", err)
	}
	expect("max.message.bytes", maxBytes, sarama.SourceTopic)
	expect("retention.ms", retention, sarama.SourceTopic)
	// AlterConfig replaces the whole set: retention.ms goes back to its default.
	if err := admin.AlterConfig(sarama.TopicResource, topic, map[string]*string{"max.message.bytes": &maxBytes}, false); err != nil {
		t.Fatalf("alter config: %v", err)
	}
	expect("retention.ms", "604800000", sarama.SourceDefault)
	expect("max.message.bytes", maxBytes, sarama.SourceTopic)

	if err := admin.CreatePartitions(topic, 4, nil, false); err != nil {
		t.Fatalf("create partitions: %v", err)
	}
	eventually(t, 10*time.Second, "4 partitions", func() string {
		d, err := admin.DescribeTopics([]string{topic})
		if err != nil || len(d) != 1 {
			return fmt.Sprint(err)
		}
		if len(d[0].Partitions) != 4 {
			return fmt.Sprintf("%d partitions", len(d[0].Partitions))
		}
		return ""
	})

	// A group that only committed offsets (Sarama's offset manager).
	group := unique("go-sarama-admin-group")
	client, err := sarama.NewClient(addrs, cfg)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer client.Close()
	om, err := sarama.NewOffsetManagerFromClient(group, client)
	if err != nil {
		t.Fatalf("offset manager: %v", err)
	}
	pom, err := om.ManagePartition(topic, 2)
	if err != nil {
		t.Fatalf("manage partition: %v", err)
	}
	pom.MarkOffset(5, "sarama was here")
	om.Commit()
	select {
	case perr := <-pom.Errors():
		t.Fatalf("offset manager: %v", perr)
	default:
	}
	_ = pom.Close()
	if err := om.Close(); err != nil {
		t.Fatalf("close offset manager: %v", err)
	}
	groups, err := admin.ListConsumerGroups()
	if err != nil {
		t.Fatalf("list consumer groups: %v", err)
	}
	if _, ok := groups[group]; !ok {
		t.Fatalf("group %s not listed: %v", group, groups)
	}
	offsets, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {2}})
	if err != nil {
		t.Fatalf("list consumer group offsets: %v", err)
	}
	if b := offsets.GetBlock(topic, 2); b == nil || b.Err != sarama.ErrNoError || b.Offset != 5 || b.Metadata != "sarama was here" {
		t.Fatalf("committed offset: %+v", b)
	}
	gds, err := admin.DescribeConsumerGroups([]string{group})
	if err != nil || len(gds) != 1 || gds[0].State != "Empty" || len(gds[0].Members) != 0 {
		t.Fatalf("describe consumer group: %v %+v", err, gds)
	}
	if err := admin.DeleteConsumerGroup(group); err != nil {
		t.Fatalf("delete consumer group: %v", err)
	}
	groups, err = admin.ListConsumerGroups()
	if _, ok := groups[group]; err != nil || ok {
		t.Fatalf("group %s still listed after delete (%v)", group, err)
	}

	if err := admin.DeleteTopic(topic); err != nil {
		t.Fatalf("delete topic: %v", err)
	}
	eventually(t, 10*time.Second, "deleted topic gone", func() string {
		topics, err := admin.ListTopics()
		if err != nil {
			return err.Error()
		}
		if _, ok := topics[topic]; ok {
			return "still listed"
		}
		return ""
	})
}
