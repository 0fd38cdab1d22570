// Package brookcompat is the shared harness of the Go compat runners (compat-tests/sarama,
// compat-tests/kafka-go): result lines, scenarios with a hard time limit, and the command line of
// the runner contract in compat-tests/README.md. Built in GOPATH mode (see ../../../go-build.sh).
package brookcompat

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Emit prints one JSON result line.
func Emit(v interface{}) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

// Outcome of one scenario: pass, fail, skip or known (a limitation documented in FINDINGS.md).
type Outcome struct {
	Status string
	Detail string
}

func Pass(f string, a ...interface{}) Outcome  { return Outcome{"pass", fmt.Sprintf(f, a...)} }
func Fail(f string, a ...interface{}) Outcome  { return Outcome{"fail", fmt.Sprintf(f, a...)} }
func Skip(f string, a ...interface{}) Outcome  { return Outcome{"skip", fmt.Sprintf(f, a...)} }
func Known(f string, a ...interface{}) Outcome { return Outcome{"known", fmt.Sprintf(f, a...)} }

type result struct {
	Scenario string `json:"scenario"`
	Status   string `json:"status"`
	Detail   string `json:"detail"`
}

// Run runs one scenario with a hard time limit (a panic is a failure) and prints its result.
func Run(name string, limit time.Duration, fn func() Outcome) {
	ch := make(chan Outcome, 1)
	t0 := time.Now()
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- Fail("panic: %v", r)
			}
		}()
		ch <- fn()
	}()
	var o Outcome
	select {
	case o = <-ch:
	case <-time.After(limit):
		o = Fail("timed out after %s", limit)
	}
	Emit(result{name, o.Status, fmt.Sprintf("%s (%d ms)", o.Detail, time.Since(t0).Milliseconds())})
}

// KV is one consumed message of the cross-client message set.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Client is what a runner supplies to Main.
type Client struct {
	// Scenarios runs the client's own scenarios (calling Run for each).
	Scenarios func(bootstrap []string)
	// Produce writes the cross-client message set (20 messages, key k<i>, value v<i>-<codec>).
	Produce func(bootstrap []string, topic, codec string) error
	// Consume reads count messages from the beginning of topic.
	Consume func(bootstrap []string, topic string, count int) ([]KV, error)
}

// Main dispatches `scenarios <bootstrap>`, `produce <bootstrap> <topic> <codec>` and
// `consume <bootstrap> <topic> <count>`.
func Main(c Client) {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: runner scenarios|produce|consume <bootstrap> ...")
		os.Exit(2)
	}
	bootstrap := strings.Split(os.Args[2], ",")
	switch os.Args[1] {
	case "scenarios":
		c.Scenarios(bootstrap)
	case "produce":
		if len(os.Args) != 5 {
			os.Exit(2)
		}
		done := make(chan error, 1)
		go func() { done <- c.Produce(bootstrap, os.Args[3], os.Args[4]) }()
		select {
		case err := <-done:
			if err != nil {
				Emit(map[string]interface{}{"ok": false, "error": err.Error()})
				return
			}
			Emit(map[string]interface{}{"ok": true})
		case <-time.After(60 * time.Second):
			Emit(map[string]interface{}{"ok": false, "error": "timed out after 60 s"})
		}
	case "consume":
		if len(os.Args) != 5 {
			os.Exit(2)
		}
		n, _ := strconv.Atoi(os.Args[4])
		got, err := c.Consume(bootstrap, os.Args[3], n)
		if err != nil {
			Emit(map[string]interface{}{"ok": false, "error": err.Error()})
			return
		}
		if got == nil {
			got = []KV{}
		}
		Emit(map[string]interface{}{"ok": true, "messages": got})
	default:
		os.Exit(2)
	}
}
