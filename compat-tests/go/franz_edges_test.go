package compat

import (
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFranzProduceEdges: a topic auto-created by producing to it; a record
// above the topic's max.message.bytes refused with MESSAGE_TOO_LARGE while
// the producer goes on; a consumer starting in the middle of a compressed
// batch gets exactly the records from its offset on; acks=0 and acks=1
// producers; records larger than the consumer's fetch limits still arrive
// (KIP-74: the first batch whole).
func TestFranzProduceEdges(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	adm := newAdmin(t)

	t.Run("auto-create", func(t *testing.T) {
		topic := unique("go-franz-auto")
		cl := newClient(t, "auto-create", kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic(topic))
		r := &kgo.Record{Value: []byte("created by producing")}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce to a new topic: %v", err)
		}
		if r.Partition != 0 || r.Offset != 0 {
			t.Fatalf("first record of an auto-created topic at %d/%d", r.Partition, r.Offset)
		}
		details, err := adm.ListTopics(ctx, topic)
		if err != nil || details[topic].Err != nil || len(details[topic].Partitions) != 1 {
			t.Fatalf("auto-created topic: %v %+v, want one partition (num.partitions)", err, details[topic])
		}
	})

	t.Run("message-too-large", func(t *testing.T) {
		topic := unique("go-franz-too-large")
		createTopic(t, ctx, adm, topic, 1, map[string]*string{"max.message.bytes": str("2000")})
		cl := newClient(t, "too-large", kgo.DefaultProduceTopic(topic))
		big := make([]byte, 10000)
		if _, err := rand.Read(big); err != nil {
			t.Fatal(err)
		}
		err := cl.ProduceSync(ctx, &kgo.Record{Value: big}).FirstErr()
		if !errors.Is(err, kerr.MessageTooLarge) {
			t.Fatalf("10 kB record to a topic with max.message.bytes=2000: %v, want MESSAGE_TOO_LARGE", err)
		}
		small := &kgo.Record{Value: []byte("fits")}
		if err := cl.ProduceSync(ctx, small).FirstErr(); err != nil {
			t.Fatalf("small record after the refused one: %v", err)
		}
		if ends := endOffsets(t, ctx, adm, topic); ends[0] != 1 {
			t.Fatalf("end offset %d, want 1 (only the small record stored)", ends[0])
		}
	})

	t.Run("mid-batch", func(t *testing.T) {
		topic := unique("go-franz-mid-batch")
		createTopic(t, ctx, adm, topic, 1, nil)
		cl := newClient(t, "mid-batch-producer", kgo.DefaultProduceTopic(topic),
			kgo.ProducerBatchCompression(kgo.GzipCompression()), kgo.ProducerLinger(50*time.Millisecond))
		var recs []*kgo.Record
		for i := 0; i < 20; i++ {
			recs = append(recs, &kgo.Record{Value: []byte(fmt.Sprintf("batched-%02d-xxxxxxxxxxxxxxxxxxxx", i))})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
		consumer := newClient(t, "mid-batch-consumer", kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
			topic: {0: kgo.NewOffset().At(7)},
		}), kgo.FetchMaxWait(200*time.Millisecond))
		next := int64(7)
		for next < 20 {
			fetches := consumer.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("read up to offset %d of 20", next)
			}
			fetches.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
			fetches.EachRecord(func(r *kgo.Record) {
				if r.Offset != next || string(r.Value) != string(recs[next].Value) {
					t.Fatalf("record at %d = %q, want offset %d = %q", r.Offset, r.Value, next, recs[next].Value)
				}
				next++
			})
		}
	})

	t.Run("acks", func(t *testing.T) {
		// acks=1 first: once answered, the partitions are ready (Kafka drops
		// acks=0 records sent before, unanswered).
		topic := unique("go-franz-acks")
		createTopic(t, ctx, adm, topic, 2, nil)
		stored := int64(0)
		for _, ack := range []struct {
			name string
			acks kgo.Acks
		}{{"acks=1", kgo.LeaderAck()}, {"acks=0", kgo.NoAck()}} {
			cl := newClient(t, ack.name, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(ack.acks), kgo.DisableIdempotentWrite())
			var recs []*kgo.Record
			for i := 0; i < 30; i++ {
				recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprint("v", i))})
			}
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatalf("%s: produce: %v", ack.name, err)
			}
			stored += 30
			// acks=0 gets no answer: poll until the broker has stored them.
			eventually(t, 10*time.Second, fmt.Sprintf("%s: %d records stored", ack.name, stored), func() string {
				ends := endOffsets(t, ctx, adm, topic)
				if ends[0]+ends[1] == stored {
					return ""
				}
				return fmt.Sprintf("end offsets %v", ends)
			})
		}
	})

	t.Run("records-above-fetch-limits", func(t *testing.T) {
		topic := unique("go-franz-big-records")
		createTopic(t, ctx, adm, topic, 1, nil)
		cl := newClient(t, "big-producer", kgo.DefaultProduceTopic(topic))
		var recs []*kgo.Record
		for i := 0; i < 3; i++ {
			v := make([]byte, 5000)
			if _, err := rand.Read(v); err != nil {
				t.Fatal(err)
			}
			recs = append(recs, &kgo.Record{Value: v})
			if err := cl.ProduceSync(ctx, recs[i]).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
		}
		consumer := newClient(t, "small-fetches", kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchMaxBytes(1000), kgo.FetchMaxPartitionBytes(1000), kgo.FetchMaxWait(200*time.Millisecond))
		next := 0
		for next < 3 {
			fetches := consumer.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("read %d of 3 records larger than the fetch limits", next)
			}
			fetches.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
			fetches.EachRecord(func(r *kgo.Record) {
				if r.Offset != int64(next) || string(r.Value) != string(recs[next].Value) {
					t.Fatalf("record at %d, want %d with the produced value", r.Offset, next)
				}
				next++
			})
		}
	})

	t.Run("recreated-topic", func(t *testing.T) {
		// A topic deleted and created again under the same name starts
		// empty, with a new topic id; a client that used the old one goes on
		// once it purges the topic (kgo 1.22 refuses to adopt a new id by
		// itself: UNKNOWN_TOPIC_ID until then).
		topic := unique("go-franz-recreated")
		createTopic(t, ctx, adm, topic, 1, nil)
		cl := newClient(t, "recreated-producer", kgo.DefaultProduceTopic(topic), kgo.MetadataMinAge(100*time.Millisecond))
		for i := 0; i < 5; i++ {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprint("old-", i))}).FirstErr(); err != nil {
				t.Fatalf("produce before delete: %v", err)
			}
		}
		before, err := adm.ListTopics(ctx, topic)
		if err != nil {
			t.Fatalf("describe: %v", err)
		}
		if resp, err := adm.DeleteTopic(ctx, topic); err != nil || resp.Err != nil {
			t.Fatalf("delete: %v %v", err, resp.Err)
		}
		eventually(t, 20*time.Second, "topic created again", func() string {
			resp, err := adm.CreateTopic(ctx, 2, 1, nil, topic)
			if err != nil {
				return err.Error()
			}
			if resp.Err != nil {
				return resp.Err.Error() // Kafka: TOPIC_ALREADY_EXISTS while the deletion completes
			}
			return ""
		})
		eventually(t, 20*time.Second, "the new topic listed with 2 partitions and a new id", func() string {
			after, err := adm.ListTopics(ctx, topic)
			if err != nil {
				return err.Error()
			}
			d := after[topic]
			if d.Err != nil || len(d.Partitions) != 2 || d.ID == before[topic].ID {
				return fmt.Sprintf("%+v", d)
			}
			return ""
		})
		if ends := endOffsets(t, ctx, adm, topic); ends[0] != 0 || ends[1] != 0 {
			t.Fatalf("recreated topic's end offsets %v, want empty partitions", ends)
		}
		var fresh []*kgo.Record
		for i := 0; i < 6; i++ {
			fresh = append(fresh, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprint("new-", i))})
		}
		cl.PurgeTopicsFromClient(topic)
		eventually(t, 20*time.Second, "the old producer writes to the new topic", func() string {
			if err := cl.ProduceSync(ctx, fresh...).FirstErr(); err != nil {
				return err.Error()
			}
			return ""
		})
		consumer := newClient(t, "recreated-consumer", kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
		var got []string
		for len(got) < len(fresh) {
			fetches := consumer.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("read %d of %d records of the recreated topic", len(got), len(fresh))
			}
			fetches.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
			fetches.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
		}
		var want []string
		for _, r := range fresh {
			want = append(want, string(r.Value))
		}
		if d := diffMultisets(want, got); d != "" {
			t.Fatalf("recreated topic holds: %s", d)
		}
	})
}
