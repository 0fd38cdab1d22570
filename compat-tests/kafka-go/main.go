// Brook compat runner for kafka-go 0.2.1 (Debian golang-github-segmentio-kafka-go-dev).
//
//	runner scenarios <bootstrap>
//	runner produce <bootstrap> <topic> <codec>
//	runner consume <bootstrap> <topic> <count>
//
// kafka-go 0.2.1 has no version negotiation: Metadata v1, Produce v2 with magic-1 message sets
// (write.go:209, :264), Fetch v2 (write.go:119), ListOffsets v1 (write.go:155), CreateTopics v0,
// DeleteTopics v1, and for groups FindCoordinator v0, JoinGroup v1, SyncGroup v0, Heartbeat v0,
// LeaveGroup v0, OffsetCommit v2, OffsetFetch v1 (conn.go:157-376).
// Writer and Reader are used with their default settings unless a scenario needs otherwise.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"brookcompat"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/gzip"
	"github.com/segmentio/kafka-go/lz4"
	"github.com/segmentio/kafka-go/snappy"
)

var bootstrap []string

// The shared harness (compat-tests/lib/go/src/brookcompat): result lines, time-limited
// scenarios and the runner-contract command line.
type outcome = brookcompat.Outcome

var (
	emit = brookcompat.Emit
	pass = brookcompat.Pass
	fail = brookcompat.Fail
	skip = brookcompat.Skip
	run  = brookcompat.Run
)

var logger *log.Logger

func dial() (*kafka.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := kafka.DialContext(ctx, "tcp", bootstrap[0])
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(15 * time.Second))
	return c, nil
}

func createTopic(name string, partitions int) error {
	c, err := dial()
	if err != nil {
		return err
	}
	defer c.Close()
	err = c.CreateTopics(kafka.TopicConfig{Topic: name, NumPartitions: partitions, ReplicationFactor: 1})
	if err != nil && err != kafka.TopicAlreadyExists {
		return fmt.Errorf("CreateTopics v0: %v", err)
	}
	return nil
}

func partitionsOf(topic string) ([]int, error) {
	c, err := dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ps, err := c.ReadPartitions(topic)
	if err != nil {
		return nil, err
	}
	var ids []int
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	sort.Ints(ids)
	return ids, nil
}

func writer(topic string, mod func(*kafka.WriterConfig)) *kafka.Writer {
	cfg := kafka.WriterConfig{Brokers: bootstrap, Topic: topic, MaxAttempts: 3, Logger: logger}
	if mod != nil {
		mod(&cfg)
	}
	return kafka.NewWriter(cfg)
}

func write(topic string, msgs []kafka.Message, mod func(*kafka.WriterConfig)) error {
	w := writer(topic, mod)
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return w.WriteMessages(ctx, msgs...)
}

func makeMsgs(prefix string, n int, keyed bool) []kafka.Message {
	ms := make([]kafka.Message, n)
	for i := range ms {
		ms[i].Value = []byte(fmt.Sprintf("%s-%d", prefix, i))
		if keyed {
			ms[i].Key = []byte(fmt.Sprintf("key-%d", i%4))
		}
	}
	return ms
}

// readPartitions reads `want` messages from all partitions (a partition Reader each, no group),
// starting at `from` (kafka.FirstOffset or an offset).
func readPartitions(topic string, parts []int, from int64, want int, limit time.Duration) ([]kafka.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	out := make(chan kafka.Message, 1024)
	errs := make(chan error, len(parts))
	var wg sync.WaitGroup
	var readers []*kafka.Reader
	for _, p := range parts {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: bootstrap, Topic: topic, Partition: p, MaxWait: 200 * time.Millisecond, Logger: logger})
		readers = append(readers, r)
		if from != kafka.FirstOffset {
			r.SetOffset(from)
		}
		wg.Add(1)
		go func(r *kafka.Reader) {
			defer wg.Done()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					errs <- err
					return
				}
				out <- m
			}
		}(r)
	}
	defer func() {
		cancel()
		for _, r := range readers {
			r.Close()
		}
		wg.Wait()
	}()
	var got []kafka.Message
	for len(got) < want {
		select {
		case m := <-out:
			got = append(got, m)
		case <-ctx.Done():
			var last error
			select {
			case last = <-errs:
			default:
			}
			return got, fmt.Errorf("got %d of %d messages in %s (%v)", len(got), want, limit, last)
		}
	}
	return got, nil
}

func roundTrip(topic string, partitions int, msgs []kafka.Message, mod func(*kafka.WriterConfig), what string) outcome {
	if err := createTopic(topic, partitions); err != nil {
		return fail("setup: %v", err)
	}
	if err := write(topic, msgs, mod); err != nil {
		return fail("Writer.WriteMessages (Produce v2, magic 1): %v", err)
	}
	parts, err := partitionsOf(topic)
	if err != nil {
		return fail("ReadPartitions: %v", err)
	}
	got, err := readPartitions(topic, parts, kafka.FirstOffset, len(msgs), 10*time.Second)
	if err != nil {
		return fail("Reader (Fetch v2): %v", err)
	}
	byValue := map[string]kafka.Message{}
	for _, m := range got {
		byValue[string(m.Value)] = m
	}
	keyPart := map[string]int{}
	for _, m := range msgs {
		g, ok := byValue[string(m.Value)]
		if !ok || string(g.Key) != string(m.Key) {
			return fail("message %q missing or wrong key %q", m.Value, g.Key)
		}
		if len(m.Key) > 0 {
			if p, ok := keyPart[string(m.Key)]; ok && p != g.Partition {
				return fail("key %s in partitions %d and %d", m.Key, p, g.Partition)
			}
			keyPart[string(m.Key)] = g.Partition
		}
	}
	return pass("%d messages %s, read back", len(msgs), what)
}

func consumeFrom(topic, mode string) outcome {
	if err := createTopic(topic, 1); err != nil {
		return fail("setup: %v", err)
	}
	msgs := makeMsgs(topic, 10, false)
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for i := range msgs {
		msgs[i].Time = base.Add(time.Duration(i) * time.Minute)
	}
	if err := write(topic, msgs, nil); err != nil {
		return fail("produce: %v", err)
	}
	first := 0
	start := int64(kafka.FirstOffset)
	switch mode {
	case "offset":
		first, start = 5, 5
	case "timestamp":
		first = 4
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := kafka.DialLeader(ctx, "tcp", bootstrap[0], topic, 0)
		cancel()
		if err != nil {
			return fail("DialLeader: %v", err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		off, err := c.ReadOffset(base.Add(4*time.Minute - time.Second))
		c.Close()
		if err != nil {
			return fail("Conn.ReadOffset (ListOffsets v1): %v", err)
		}
		if off != 4 {
			return fail("ListOffsets v1 by timestamp = %d, want 4", off)
		}
		start = off
	}
	got, err := readPartitions(topic, []int{0}, start, len(msgs)-first, 10*time.Second)
	if err != nil {
		return fail("Reader: %v", err)
	}
	if string(got[0].Value) != string(msgs[first].Value) || got[0].Offset != int64(first) {
		return fail("first %q@%d, want %q@%d", got[0].Value, got[0].Offset, msgs[first].Value, first)
	}
	if !got[0].Time.Equal(msgs[first].Time) {
		return fail("timestamp %v, want %v", got[0].Time, msgs[first].Time)
	}
	return pass("%d messages from offset %d (magic-1 timestamps intact)", len(got), got[0].Offset)
}

func groupReader(topic, group string) *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{Brokers: bootstrap, Topic: topic, GroupID: group,
		MaxWait: 200 * time.Millisecond, HeartbeatInterval: 500 * time.Millisecond,
		SessionTimeout: 10 * time.Second, RebalanceTimeout: 5 * time.Second, Logger: logger})
}

func groupTwo(topic string) outcome {
	if err := createTopic(topic, 4); err != nil {
		return fail("setup: %v", err)
	}
	group := topic + "-g"
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	type rec struct {
		who string
		m   kafka.Message
	}
	out := make(chan rec, 1024)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	var readers []*kafka.Reader
	for _, who := range []string{"a", "b"} {
		r := groupReader(topic, group)
		readers = append(readers, r)
		wg.Add(1)
		go func(who string, r *kafka.Reader) {
			defer wg.Done()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					errs <- err
					return
				}
				out <- rec{who, m}
			}
		}(who, r)
	}
	defer func() {
		cancel()
		for _, r := range readers {
			r.Close()
		}
		wg.Wait()
	}()
	time.Sleep(3 * time.Second) // both join (JoinGroup v1 / SyncGroup v0)
	msgs := makeMsgs(topic, 40, true)
	for i := range msgs {
		msgs[i].Key = []byte(fmt.Sprintf("key-%d", i))
	}
	if err := write(topic, msgs, func(c *kafka.WriterConfig) { c.Balancer = &kafka.Hash{} }); err != nil {
		return fail("produce: %v", err)
	}
	seen := map[string]bool{}
	by := map[string]int{}
	for len(seen) < len(msgs) {
		select {
		case r := <-out:
			seen[string(r.m.Value)] = true
			by[r.who]++
		case e := <-errs:
			return fail("reader error: %v", e)
		case <-ctx.Done():
			return fail("got %d of %d messages (a=%d b=%d)", len(seen), len(msgs), by["a"], by["b"])
		}
	}
	if by["a"] == 0 || by["b"] == 0 {
		return fail("all %d messages went to one member (a=%d b=%d)", len(seen), by["a"], by["b"])
	}
	return pass("%d messages split a=%d b=%d", len(seen), by["a"], by["b"])
}

func groupResume(topic string) outcome {
	if err := createTopic(topic, 2); err != nil {
		return fail("setup: %v", err)
	}
	group := topic + "-g"
	first := makeMsgs(topic+"-a", 10, false)
	if err := write(topic, first, nil); err != nil {
		return fail("produce: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	r := groupReader(topic, group)
	for i := 0; i < len(first); i++ {
		if _, err := r.ReadMessage(ctx); err != nil { // commits synchronously (OffsetCommit v2)
			r.Close()
			return fail("first reader after %d messages: %v", i, err)
		}
	}
	r.Close()
	second := makeMsgs(topic+"-b", 5, false)
	if err := write(topic, second, nil); err != nil {
		return fail("produce 2: %v", err)
	}
	r2 := groupReader(topic, group)
	defer r2.Close()
	seen := 0
	for seen < len(second) {
		m, err := r2.ReadMessage(ctx)
		if err != nil {
			return fail("second reader after %d messages: %v", seen, err)
		}
		if strings.HasPrefix(string(m.Value), topic+"-a") {
			return fail("re-consumed %q@%d after commit", m.Value, m.Offset)
		}
		seen++
	}
	return pass("resumed at committed offsets: only the %d new messages", seen)
}

func codecOf(name string) (kafka.CompressionCodec, error) {
	switch name {
	case "none":
		return nil, nil
	case "gzip":
		return gzip.NewCompressionCodec(), nil
	case "snappy":
		return snappy.NewCompressionCodec(), nil
	case "lz4":
		return lz4.NewCompressionCodec(), nil
	}
	return nil, fmt.Errorf("kafka-go 0.2.1 has no %s codec (only gzip, snappy, lz4 subpackages)", name)
}

func scenarios() {
	lim := 30 * time.Second
	run("bootstrap-metadata", lim, func() outcome {
		c, err := dial()
		if err != nil {
			return fail("dial: %v", err)
		}
		defer c.Close()
		if _, err := c.ReadPartitions(); err != nil {
			return fail("ReadPartitions (Metadata v1): %v", err)
		}
		return pass("Metadata v1 answered (Conn.ReadPartitions)")
	})
	run("admin-create-topic", lim, func() outcome {
		c, err := dial()
		if err != nil {
			return fail("dial: %v", err)
		}
		defer c.Close()
		if err := c.CreateTopics(kafka.TopicConfig{Topic: "kafka-go-admin-topic", NumPartitions: 3, ReplicationFactor: 1}); err != nil {
			return fail("CreateTopics v0: %v", err)
		}
		// Conn.CreateTopics turns TOPIC_ALREADY_EXISTS into nil (createtopics.go:259-263).
		if err = c.CreateTopics(kafka.TopicConfig{Topic: "kafka-go-admin-topic", NumPartitions: 3, ReplicationFactor: 1}); err != nil {
			return fail("second CreateTopics: want nil (client swallows TopicAlreadyExists), got %v", err)
		}
		ps, err := c.ReadPartitions("kafka-go-admin-topic")
		if err != nil || len(ps) != 3 {
			return fail("ReadPartitions after create: %d partitions, %v", len(ps), err)
		}
		return pass("CreateTopics v0 created 3 partitions (duplicate create returns nil: the client swallows TOPIC_ALREADY_EXISTS, createtopics.go:259-263)")
	})
	run("produce-unkeyed", lim, func() outcome {
		return roundTrip("kafka-go-produce-unkeyed", 1, makeMsgs("kafka-go-produce-unkeyed", 10, false), nil, "(default Writer, acks -1)")
	})
	run("produce-keyed", lim, func() outcome {
		return roundTrip("kafka-go-produce-keyed", 3, makeMsgs("kafka-go-produce-keyed", 12, true),
			func(c *kafka.WriterConfig) { c.Balancer = &kafka.Hash{} }, "(Hash balancer)")
	})
	run("produce-acks-0", lim, func() outcome {
		return skip("kafka-go 0.2.1 cannot send acks=0: Conn.SetRequiredAcks accepts only -1 and 1 (conn.go:871-879) and the Writer ignores its error (writer.go:639)")
	})
	run("produce-acks-1", lim, func() outcome {
		return roundTrip("kafka-go-acks-1", 1, makeMsgs("kafka-go-acks-1", 10, false),
			func(c *kafka.WriterConfig) { c.RequiredAcks = 1 }, "(RequiredAcks 1)")
	})
	run("produce-acks-all", lim, func() outcome {
		return roundTrip("kafka-go-acks-all", 1, makeMsgs("kafka-go-acks-all", 10, false),
			func(c *kafka.WriterConfig) { c.RequiredAcks = -1 }, "(RequiredAcks -1)")
	})
	for _, name := range []string{"gzip", "snappy", "lz4"} {
		codec, _ := codecOf(name)
		run("compression-"+name, lim, func() outcome {
			return roundTrip("kafka-go-"+name, 1, makeMsgs("kafka-go-"+name, 20, true),
				func(c *kafka.WriterConfig) { c.CompressionCodec = codec }, "("+name+" magic-1 wrapper)")
		})
	}
	run("compression-zstd", lim, func() outcome {
		return skip("kafka-go 0.2.1 has no zstd codec (gzip, snappy, lz4 subpackages only; zstd needs record batches, it writes magic 1, write.go:264)")
	})
	run("headers", lim, func() outcome {
		return skip("kafka-go 0.2.1 writes magic-1 message sets (write.go:264) and its Message has no Headers field (message.go:10-23)")
	})
	run("consume-from-beginning", lim, func() outcome { return consumeFrom("kafka-go-from-beginning", "beginning") })
	run("consume-from-offset", lim, func() outcome { return consumeFrom("kafka-go-from-offset", "offset") })
	run("consume-from-timestamp", lim, func() outcome { return consumeFrom("kafka-go-from-timestamp", "timestamp") })
	run("group-two-consumers", 60*time.Second, func() outcome { return groupTwo("kafka-go-group-two") })
	run("group-resume-committed", 60*time.Second, func() outcome { return groupResume("kafka-go-group-resume") })
	run("admin-list-topics", lim, func() outcome {
		c, err := dial()
		if err != nil {
			return fail("dial: %v", err)
		}
		defer c.Close()
		ps, err := c.ReadPartitions()
		if err != nil {
			return fail("ReadPartitions: %v", err)
		}
		n := 0
		for _, p := range ps {
			if p.Topic == "kafka-go-admin-topic" {
				n++
			}
		}
		if n == 0 && len(ps) == 0 {
			return brookcompat.Known("%s", "Conn.ReadPartitions() with no topic sends Metadata v1 with an EMPTY topic array "+
				"(metadata.go:11-13 -> writeStringArray writes length 0, write.go:70-83), which from v1 on means "+
				"'no topics' (null means all); Brook, like Kafka, answers no topics. kafka-go 0.2.1 has no other way to list topics")
		}
		if n != 3 {
			return fail("kafka-go-admin-topic has %d partitions in the all-topics Metadata v1", n)
		}
		return pass("all-topics Metadata v1 (null topic array) lists kafka-go-admin-topic with 3 partitions (%d partitions total)", len(ps))
	})
	run("admin-describe-topics", lim, func() outcome {
		c, err := dial()
		if err != nil {
			return fail("dial: %v", err)
		}
		defer c.Close()
		ps, err := c.ReadPartitions("kafka-go-admin-topic")
		if err != nil {
			return fail("ReadPartitions(topic): %v", err)
		}
		if len(ps) != 3 || ps[0].Leader.Port == 0 {
			return fail("partitions %+v", ps)
		}
		return pass("3 partitions, leader %s:%d", ps[0].Leader.Host, ps[0].Leader.Port)
	})
	run("admin-delete-topic", lim, func() outcome {
		c, err := dial()
		if err != nil {
			return fail("dial: %v", err)
		}
		defer c.Close()
		if err := c.DeleteTopics("kafka-go-admin-topic"); err != nil {
			return fail("DeleteTopics v1: %v", err)
		}
		// No ReadPartitions(topic) check here: Metadata v1 for a named topic auto-creates it
		// (auto.create.topics.enable defaults to true). Deleting again proves it is gone.
		err = c.DeleteTopics("kafka-go-admin-topic")
		if err != kafka.UnknownTopicOrPartition {
			return fail("second delete: want UnknownTopicOrPartition, got %v", err)
		}
		return pass("deleted (DeleteTopics v1); again -> %v", err)
	})
	run("admin-list-groups", lim, func() outcome {
		return skip("kafka-go 0.2.1 has no public ListGroups (Conn.listGroups is unexported, conn.go:284)")
	})
	run("admin-describe-groups", lim, func() outcome {
		return skip("kafka-go 0.2.1 has no public DescribeGroups (Conn.describeGroups is unexported, conn.go:152)")
	})
	run("admin-delete-group", lim, func() outcome {
		return skip("kafka-go 0.2.1 has no DeleteGroups request at all")
	})
}

func crossProduce(topic, codecName string) error {
	codec, err := codecOf(codecName)
	if err != nil {
		return err
	}
	msgs := make([]kafka.Message, 20)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("v%d-%s", i, codecName))}
	}
	return write(topic, msgs, func(c *kafka.WriterConfig) { c.CompressionCodec = codec })
}

func main() {
	if os.Getenv("KAFKA_GO_DEBUG") != "" {
		logger = log.New(os.Stderr, "[kafka-go] ", log.Ltime|log.Lmicroseconds)
	}
	brookcompat.Main(brookcompat.Client{
		Scenarios: func(bs []string) { bootstrap = bs; scenarios() },
		Produce:   func(bs []string, topic, codec string) error { bootstrap = bs; return crossProduce(topic, codec) },
		Consume: func(bs []string, topic string, n int) ([]brookcompat.KV, error) {
			bootstrap = bs
			return crossConsume(topic, n)
		},
	})
}

// crossConsume reads the cross-client set from every partition.
func crossConsume(topic string, n int) ([]brookcompat.KV, error) {
	parts, err := partitionsOf(topic)
	if err != nil {
		return nil, fmt.Errorf("ReadPartitions: %w", err)
	}
	got, err := readPartitions(topic, parts, kafka.FirstOffset, n, 30*time.Second)
	if err != nil {
		return nil, err
	}
	out := []brookcompat.KV{}
	for _, m := range got {
		out = append(out, brookcompat.KV{Key: string(m.Key), Value: string(m.Value)})
	}
	return out, nil
}
