package compat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
)

func init() {
	if os.Getenv("GO_COMPAT_LOG") == "debug" {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.Ltime|log.Lmicroseconds)
	}
}

// saramaVersions are the Kafka versions Sarama is told it talks to: the one
// MemoryStreamer implements (4.1), and Sarama's default (2.8), which is what
// a program that does not set config.Version gets.
var saramaVersions = []struct {
	name    string
	version sarama.KafkaVersion
}{
	{"kafka-4.1", sarama.V4_1_0_0},
	{"default-2.8", sarama.DefaultVersion},
}

// retriableSarama reports (to stderr) and returns true for the errors a
// Sarama consumer retries by itself: a partition's leader that has not yet
// applied a just-created topic answers UNKNOWN_TOPIC_OR_PARTITION (Kafka's
// brokers too, and a MemoryStreamer cluster's).
func retriableSarama(who string, err error) bool {
	if errors.Is(err, sarama.ErrUnknownTopicOrPartition) || errors.Is(err, sarama.ErrNotLeaderForPartition) || errors.Is(err, sarama.ErrLeaderNotAvailable) {
		fmt.Fprintf(os.Stderr, "[sarama %s] retriable: %v\n", who, err)
		return true
	}
	return false
}

// saramaConfig is a Sarama configuration for the given Kafka version with
// short intervals so group tests rebalance quickly.
func saramaConfig(name string, version sarama.KafkaVersion) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = "go-compat-sarama-" + name
	cfg.Version = version
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	cfg.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
	cfg.Consumer.MaxWaitTime = 200 * time.Millisecond
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Return.Errors = true
	return cfg
}

// readSarama reads n records of a topic from the start of each partition
// with Sarama's partition consumers.
func readSarama(t *testing.T, cfg *sarama.Config, topic string, partitions int32, n int) []*sarama.ConsumerMessage {
	t.Helper()
	consumer, err := sarama.NewConsumer([]string{bootstrap(t)}, cfg)
	if err != nil {
		t.Fatalf("sarama consumer: %v", err)
	}
	defer consumer.Close()
	msgs := make(chan *sarama.ConsumerMessage, n+16)
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
	deadline := time.After(30 * time.Second)
	var out []*sarama.ConsumerMessage
	for len(out) < n {
		select {
		case m := <-msgs:
			out = append(out, m)
		case e := <-errs:
			if !retriableSarama("consumer", e) {
				t.Fatalf("consuming %s: %v", topic, e)
			}
		case <-deadline:
			t.Fatalf("read %d of %d records of %s", len(out), n, topic)
		}
	}
	return out
}

// describeProducer checks through DescribeProducers that one producer wrote
// every partition's records with consecutive sequence numbers from 0.
func expectOneIdempotentProducer(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, perPartition map[int32]int) {
	t.Helper()
	set := kadm.TopicsSet{topic: {}}
	for p := range perPartition {
		set[topic][p] = struct{}{}
	}
	described, err := adm.DescribeProducers(ctx, set)
	if err != nil {
		t.Fatalf("describe producers: %v", err)
	}
	pid := int64(-1)
	for p, n := range perPartition {
		dp := described[topic].Partitions[p]
		if dp.Err != nil || len(dp.ActiveProducers) != 1 {
			t.Fatalf("partition %d: producers %+v, err %v; want one", p, dp.ActiveProducers, dp.Err)
		}
		for id, prod := range dp.ActiveProducers {
			if pid != -1 && id != pid {
				t.Fatalf("two producer ids: %d and %d", pid, id)
			}
			pid = id
			if prod.LastSequence != int32(n-1) {
				t.Fatalf("partition %d: last sequence %d, want %d", p, prod.LastSequence, n-1)
			}
		}
	}
}

// TestSaramaIdempotentSyncProducer: Sarama's SyncProducer with
// Idempotent=true (acks=all, one request in flight), with each codec, at
// Kafka 4.1 and at Sarama's default version; every record read back by
// Sarama's consumer equals what was sent, and the broker saw one idempotent
// producer with gap-free sequences.
func TestSaramaIdempotentSyncProducer(t *testing.T) {
	ctx := testCtx(t, 90*time.Second)
	adm := newAdmin(t)
	codecs := []sarama.CompressionCodec{sarama.CompressionNone, sarama.CompressionGZIP, sarama.CompressionSnappy, sarama.CompressionLZ4, sarama.CompressionZSTD}
	for _, v := range saramaVersions {
		for _, codec := range codecs {
			t.Run(v.name+"/"+codec.String(), func(t *testing.T) {
				topic := unique("go-sarama-sync-" + codec.String())
				createTopic(t, ctx, adm, topic, 3, nil)
				cfg := saramaConfig("sync", v.version)
				cfg.Producer.Idempotent = true
				cfg.Producer.RequiredAcks = sarama.WaitForAll
				cfg.Net.MaxOpenRequests = 1
				cfg.Producer.Return.Successes = true
				cfg.Producer.Compression = codec
				producer, err := sarama.NewSyncProducer([]string{bootstrap(t)}, cfg)
				if err != nil {
					t.Fatalf("sync producer: %v", err)
				}
				defer producer.Close()
				const n = 30
				// Sarama stamps unset timestamps inside the producer without
				// reporting them back: set them, to compare them.
				base := time.Now().Truncate(time.Millisecond)
				var msgs []*sarama.ProducerMessage
				for i := 0; i < n; i++ {
					msgs = append(msgs, &sarama.ProducerMessage{
						Topic:     topic,
						Key:       sarama.StringEncoder(fmt.Sprintf("key-%02d", i)),
						Value:     sarama.StringEncoder(strings.Repeat(fmt.Sprintf("sarama %02d %s ", i, codec), 8)),
						Timestamp: base.Add(time.Duration(i) * time.Millisecond),
						Headers: []sarama.RecordHeader{
							{Key: []byte("seq"), Value: []byte(fmt.Sprint(i))},
							{Key: []byte("codec"), Value: []byte(codec.String())},
						},
					})
				}
				// Half one by one, half in one call.
				for _, m := range msgs[:n/2] {
					if _, _, err := producer.SendMessage(m); err != nil {
						t.Fatalf("send: %v", err)
					}
				}
				if err := producer.SendMessages(msgs[n/2:]); err != nil {
					t.Fatalf("send messages: %v", err)
				}
				want := map[recPos]*sarama.ProducerMessage{}
				perPartition := map[int32]int{}
				for _, m := range msgs {
					want[recPos{m.Partition, m.Offset}] = m
					perPartition[m.Partition]++
				}
				if len(want) != n {
					t.Fatalf("%d messages acknowledged at %d distinct offsets", n, len(want))
				}
				for _, got := range readSarama(t, cfg, topic, 3, n) {
					at := recPos{got.Partition, got.Offset}
					exp, ok := want[at]
					if !ok {
						t.Fatalf("read a record at %v never acknowledged there", at)
					}
					delete(want, at)
					k, _ := exp.Key.Encode()
					val, _ := exp.Value.Encode()
					if !bytes.Equal(got.Key, k) || !bytes.Equal(got.Value, val) {
						t.Fatalf("%v: %q=%q, want %q=%q", at, got.Key, got.Value, k, val)
					}
					if len(got.Headers) != len(exp.Headers) {
						t.Fatalf("%v: %d headers, want %d", at, len(got.Headers), len(exp.Headers))
					}
					for i, h := range got.Headers {
						if !bytes.Equal(h.Key, exp.Headers[i].Key) || !bytes.Equal(h.Value, exp.Headers[i].Value) {
							t.Fatalf("%v: header %d %s=%s, want %s=%s", at, i, h.Key, h.Value, exp.Headers[i].Key, exp.Headers[i].Value)
						}
					}
					if !got.Timestamp.Equal(exp.Timestamp) {
						t.Fatalf("%v: timestamp %v, want %v", at, got.Timestamp, exp.Timestamp)
					}
				}
				expectOneIdempotentProducer(t, ctx, adm, topic, perPartition)
			})
		}
	}
}

// TestSaramaAsyncProducer: Sarama's AsyncProducer (its default acks=1,
// snappy) delivers every message once; successes report distinct offsets,
// no errors, and the partitions hold exactly those records.
func TestSaramaAsyncProducer(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	adm := newAdmin(t)
	for _, v := range saramaVersions {
		t.Run(v.name, func(t *testing.T) {
			topic := unique("go-sarama-async")
			createTopic(t, ctx, adm, topic, 4, nil)
			cfg := saramaConfig("async", v.version)
			cfg.Producer.Return.Successes = true
			cfg.Producer.Compression = sarama.CompressionSnappy
			// Batches of ten, and whatever is left after 20 ms (without a
			// frequency Sarama holds a partial batch until more arrive).
			cfg.Producer.Flush.Messages = 10
			cfg.Producer.Flush.Frequency = 20 * time.Millisecond
			producer, err := sarama.NewAsyncProducer([]string{bootstrap(t)}, cfg)
			if err != nil {
				t.Fatalf("async producer: %v", err)
			}
			const n = 100
			go func() {
				for i := 0; i < n; i++ {
					producer.Input() <- &sarama.ProducerMessage{
						Topic:    topic,
						Key:      sarama.StringEncoder(fmt.Sprint("k", i)),
						Value:    sarama.StringEncoder(fmt.Sprintf("async-%03d", i)),
						Metadata: i,
					}
				}
			}()
			sent := map[recPos]string{}
			perPartition := map[int32]int64{}
			deadline := time.After(30 * time.Second)
			for len(sent) < n {
				select {
				case m := <-producer.Successes():
					at := recPos{m.Partition, m.Offset}
					if _, dup := sent[at]; dup {
						t.Fatalf("two successes at %v", at)
					}
					sent[at] = fmt.Sprintf("async-%03d", m.Metadata.(int))
					perPartition[m.Partition]++
				case e := <-producer.Errors():
					t.Fatalf("async produce error: %v", e.Err)
				case <-deadline:
					t.Fatalf("%d of %d successes", len(sent), n)
				}
			}
			if err := producer.Close(); err != nil {
				t.Fatalf("close async producer: %v", err)
			}
			ends := endOffsets(t, ctx, adm, topic)
			for p := int32(0); p < 4; p++ {
				if ends[p] != perPartition[p] {
					t.Fatalf("partition %d: end offset %d, %d successes", p, ends[p], perPartition[p])
				}
			}
			for _, got := range readSarama(t, cfg, topic, 4, n) {
				at := recPos{got.Partition, got.Offset}
				if sent[at] != string(got.Value) {
					t.Fatalf("%v: read %q, success reported %q", at, got.Value, sent[at])
				}
			}
		})
	}
}
