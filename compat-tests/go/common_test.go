package compat

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// bootstrapEnv names the environment variable holding the broker's address.
const bootstrapEnv = "COMPAT_KAFKA_BOOTSTRAP"

// bootstrap returns the broker address, failing the test when it is unset.
func bootstrap(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(bootstrapEnv)
	if addr == "" {
		t.Fatalf("%s is not set: these tests need a running broker. Run them with "+
			"`cargo test --release -p memorystreamer-compat-tests --test go_clients` "+
			"(it starts one), or start a broker and set %s=127.0.0.1:9092", bootstrapEnv, bootstrapEnv)
	}
	return addr
}

// brokersEnv names the environment variable holding the number of brokers
// in the cluster (node ids 1..n); unset means one.
const brokersEnv = "COMPAT_KAFKA_BROKERS"

// brokerCount is the number of brokers the tests expect (node ids 1..n).
func brokerCount(t testing.TB) int32 {
	t.Helper()
	v := os.Getenv(brokersEnv)
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q is not a broker count", brokersEnv, v)
	}
	return int32(n)
}

var nameSeq atomic.Int64

// unique returns a topic/group/transactional-id name no other test uses.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), nameSeq.Add(1))
}

// testCtx is a context cancelled after limit or when the test ends.
func testCtx(t testing.TB, limit time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	return ctx
}

// franzLogger prints franz-go's warnings and errors to stderr, prefixed
// (everything down to debug with GO_COMPAT_LOG=debug).
func franzLogger(name string) kgo.Opt {
	level := kgo.LogLevelWarn
	if os.Getenv("GO_COMPAT_LOG") == "debug" {
		level = kgo.LogLevelDebug
	}
	return kgo.WithLogger(kgo.BasicLogger(os.Stderr, level, func() string {
		return time.Now().Format("15:04:05.000") + " [franz-go " + name + "] "
	}))
}

// newClient is a kgo client on the broker, closed when the test ends.
func newClient(t testing.TB, name string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base := []kgo.Opt{kgo.SeedBrokers(bootstrap(t)), kgo.ClientID("go-compat-" + name), franzLogger(name)}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("kgo.NewClient(%s): %v", name, err)
	}
	t.Cleanup(func() { closeClient(cl) })
	return cl
}

var closeOnces sync.Map // *kgo.Client -> *sync.Once

// closeClient closes cl once, however often it is called (explicitly and
// again by the test's cleanup).
func closeClient(cl *kgo.Client) {
	once, _ := closeOnces.LoadOrStore(cl, new(sync.Once))
	once.(*sync.Once).Do(cl.Close)
}

// newAdmin is a kadm client on the broker, closed when the test ends.
func newAdmin(t testing.TB) *kadm.Client {
	t.Helper()
	// A short metadata age: kgo otherwise answers metadata requests made
	// within 5 s of the last one from its cache (deleted topics linger).
	return kadm.NewClient(newClient(t, "admin", kgo.MetadataMinAge(100*time.Millisecond)))
}

// createTopic creates a topic with one replica per partition.
func createTopic(t testing.TB, ctx context.Context, adm *kadm.Client, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	resp, err := adm.CreateTopic(ctx, partitions, 1, configs, topic)
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	if resp.Err != nil {
		t.Fatalf("create topic %s: %v (%s)", topic, resp.Err, resp.ErrMessage)
	}
}

// eventually polls cond every 50 ms until it returns "" (done) or the
// deadline passes; then the test fails with cond's last description.
func eventually(t testing.TB, limit time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		last := cond()
		if last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v: %s", what, limit, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// endOffsets returns each partition's end offset (kadm ListEndOffsets).
func endOffsets(t testing.TB, ctx context.Context, adm *kadm.Client, topic string) map[int32]int64 {
	t.Helper()
	listed, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("list end offsets of %s: %v", topic, err)
	}
	out := map[int32]int64{}
	for p, o := range listed[topic] {
		if o.Err != nil {
			t.Fatalf("end offset of %s-%d: %v", topic, p, o.Err)
		}
		out[p] = o.Offset
	}
	return out
}

// sortedStrings returns a sorted copy.
func sortedStrings(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

// diffMultisets describes how got differs from want as multisets ("" if equal).
func diffMultisets(want, got []string) string {
	count := map[string]int{}
	for _, w := range want {
		count[w]++
	}
	for _, g := range got {
		count[g]--
	}
	var missing, extra []string
	for k, n := range count {
		for ; n > 0; n-- {
			missing = append(missing, k)
		}
		for ; n < 0; n++ {
			extra = append(extra, k)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return ""
	}
	return fmt.Sprintf("missing %d %v; unexpected or duplicated %d %v",
		len(missing), head(sortedStrings(missing)), len(extra), head(sortedStrings(extra)))
}

func head(s []string) string {
	if len(s) > 10 {
		return strings.Join(s[:10], ", ") + ", ..."
	}
	return strings.Join(s, ", ")
}
