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
// batch gets exactly the records from its offset on.
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
}
