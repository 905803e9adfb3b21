package compat

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFranzIdempotentProduceEveryCodec produces keyed records with headers
// through franz-go's default (idempotent, acks=all) producer with each codec
// kgo supports, reads them back and compares every field, the batch codec and
// the producer id; DescribeProducers must report the producer's last sequence.
func TestFranzIdempotentProduceEveryCodec(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	adm := newAdmin(t)
	codecs := []struct {
		name  string
		codec kgo.CompressionCodec
		attr  uint8 // compression bits of the batch attributes
	}{
		{"none", kgo.NoCompression(), 0},
		{"gzip", kgo.GzipCompression(), 1},
		{"snappy", kgo.SnappyCompression(), 2},
		{"lz4", kgo.Lz4Compression(), 3},
		{"zstd", kgo.ZstdCompression(), 4},
	}
	const count = 60
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			topic := unique("go-franz-produce-" + c.name)
			createTopic(t, ctx, adm, topic, 3, nil)
			producer := newClient(t, "producer-"+c.name,
				kgo.DefaultProduceTopic(topic),
				kgo.ProducerBatchCompression(c.codec),
				kgo.ProducerLinger(5*time.Millisecond))

			records := make([]*kgo.Record, count)
			for i := range records {
				r := &kgo.Record{
					// Repetitive values so every codec makes the batch smaller
					// (kgo sends a batch uncompressed otherwise).
					Value: []byte(strings.Repeat(fmt.Sprintf("value %03d via %s; ", i, c.name), 12)),
					Headers: []kgo.RecordHeader{
						{Key: "seq", Value: []byte(fmt.Sprint(i))},
						{Key: "codec", Value: []byte(c.name)},
						{Key: "empty", Value: nil},
					},
				}
				if i%10 != 9 { // every tenth record has a null key
					r.Key = []byte(fmt.Sprintf("key-%03d", i))
				}
				records[i] = r
			}
			if err := producer.ProduceSync(ctx, records...).FirstErr(); err != nil {
				t.Fatalf("produce with %s: %v", c.name, err)
			}
			type pos struct {
				p int32
				o int64
			}
			want := map[pos]*kgo.Record{}
			perPartition := map[int32]int{}
			pid := records[0].ProducerID
			if pid < 0 {
				t.Fatalf("idempotent producer got no producer id (%d)", pid)
			}
			for _, r := range records {
				if r.ProducerID != pid {
					t.Fatalf("records produced under two producer ids: %d and %d", pid, r.ProducerID)
				}
				want[pos{r.Partition, r.Offset}] = r
				perPartition[r.Partition]++
			}
			if len(want) != count {
				t.Fatalf("%d records acknowledged at %d distinct offsets", count, len(want))
			}
			ends := endOffsets(t, ctx, adm, topic)
			for p := int32(0); p < 3; p++ {
				if ends[p] != int64(perPartition[p]) {
					t.Fatalf("partition %d: end offset %d, %d records acknowledged", p, ends[p], perPartition[p])
				}
			}

			consumer := newClient(t, "consumer-"+c.name,
				kgo.ConsumeTopics(topic),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
				kgo.FetchMaxWait(200*time.Millisecond))
			seen := map[pos]bool{}
			for len(seen) < count {
				fetches := consumer.PollFetches(ctx)
				if ctx.Err() != nil {
					t.Fatalf("consumed %d of %d records before the deadline", len(seen), count)
				}
				fetches.EachError(func(topic string, p int32, err error) {
					t.Fatalf("fetch %s-%d: %v", topic, p, err)
				})
				fetches.EachRecord(func(got *kgo.Record) {
					at := pos{got.Partition, got.Offset}
					exp, ok := want[at]
					if !ok {
						t.Fatalf("consumed a record at %v that was never acknowledged there", at)
					}
					if seen[at] {
						t.Fatalf("record at %v consumed twice", at)
					}
					seen[at] = true
					if !bytes.Equal(got.Key, exp.Key) || (got.Key == nil) != (exp.Key == nil) {
						t.Errorf("%v: key %q, want %q", at, got.Key, exp.Key)
					}
					if !bytes.Equal(got.Value, exp.Value) {
						t.Errorf("%v: value %q, want %q", at, got.Value, exp.Value)
					}
					if len(got.Headers) != len(exp.Headers) {
						t.Errorf("%v: headers %v, want %v", at, got.Headers, exp.Headers)
					} else {
						for i, h := range got.Headers {
							if h.Key != exp.Headers[i].Key || !bytes.Equal(h.Value, exp.Headers[i].Value) {
								t.Errorf("%v: header %d is %s=%q, want %s=%q", at, i, h.Key, h.Value, exp.Headers[i].Key, exp.Headers[i].Value)
							}
						}
					}
					if !got.Timestamp.Equal(exp.Timestamp.Truncate(time.Millisecond)) {
						t.Errorf("%v: timestamp %v, want %v", at, got.Timestamp, exp.Timestamp)
					}
					if got.Attrs.CompressionType() != c.attr {
						t.Errorf("%v: batch compression %d, want %d (%s)", at, got.Attrs.CompressionType(), c.attr, c.name)
					}
					if got.ProducerID != pid || got.ProducerEpoch != exp.ProducerEpoch {
						t.Errorf("%v: producer %d/%d, want %d/%d", at, got.ProducerID, got.ProducerEpoch, pid, exp.ProducerEpoch)
					}
				})
			}

			described, err := adm.DescribeProducers(ctx, kadm.TopicsSet{topic: {0: {}, 1: {}, 2: {}}})
			if err != nil {
				t.Fatalf("describe producers: %v", err)
			}
			for p := int32(0); p < 3; p++ {
				dp := described[topic].Partitions[p]
				if dp.Err != nil {
					t.Fatalf("describe producers of partition %d: %v", p, dp.Err)
				}
				if perPartition[p] == 0 {
					continue
				}
				prod, ok := dp.ActiveProducers[pid]
				if !ok {
					t.Fatalf("partition %d: producer %d not described (got %v)", p, pid, dp.ActiveProducers)
				}
				if prod.LastSequence != int32(perPartition[p]-1) {
					t.Errorf("partition %d: last sequence %d, want %d", p, prod.LastSequence, perPartition[p]-1)
				}
			}
		})
	}
}
