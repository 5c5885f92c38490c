package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"switchboard/cmd/internal/localcluster"
	"switchboard/cmd/internal/machine"
	"switchboard/cmd/internal/readiness"
	"switchboard/cmd/internal/traffic"
)

func testReport() *report {
	o, _ := parseOptions(nil, io.Discard)
	fs := faults(o)
	start := ts(0)
	clean := &phase{Fault: fs[0], Start: start, End: ts(60), Timeline: []mark{{start, "traffic flows"}},
		Result: &result{Sent: 1200, Accepted: 1200, Stored: 1200, Attempts: 1200, RefusedBy: map[string]int{},
			PerReplica: make([]traffic.Stretch, 2), NotReady: make([][]readiness.Window, 2), RefusedWhileReady: make([]int, 2),
			ReadyRefusing: make([]time.Duration, 2), ReplicaRefusals: make([]int, 2), Agree: "yes",
			Consoles: []consoleResult{{Name: "replica-a/1", Policy: "sticky", Delivered: 1200}},
			History:  []historyRead{{CallID: "c1", Got: 5, Want: 5}}}}
	restart := &phase{Fault: fs[4], Start: ts(100), FaultAt: ts(110), RestoredAt: ts(125.2), RecoveredAt: ts(131), End: ts(150), Outage: 15200 * time.Millisecond,
		Timeline: []mark{{ts(110), "stop n1, n2, n3 (SIGTERM)"}}, Notes: []string{"replica-b's view stayed at 10, behind the event log's 12"},
		Result: &result{Sent: 300, Accepted: 290, Stored: 291, RefusedStored: 1, NeverAccepted: 10, Attempts: 700, Refusals: 410,
			RefusedBy:         map[string]int{"503": 400, "connection refused": 10},
			Overall:           traffic.Stretch{From: ts(110.1), To: ts(141.3), Failures: 410},
			PerReplica:        []traffic.Stretch{{From: ts(110.1), To: ts(141.3)}, {From: ts(110.2), To: ts(141.3)}},
			NotReady:          [][]readiness.Window{{{From: ts(110.2), To: ts(126.6), Reasons: []string{"not connected to NATS"}}}, nil},
			RefusedWhileReady: []int{183, 0}, ReadyRefusing: []time.Duration{4700 * time.Millisecond, 0}, ReplicaRefusals: []int{205, 205},
			Consoles: []consoleResult{{Name: "replica-a/1", Policy: "sticky", Delivered: 280, Lost: 11, Stale: 2, Differs: 3}},
			Exits:    []localcluster.Failure{{Part: "replica-b", At: ts(116), Status: "exit status 1", Reason: "save call: context deadline exceeded"}},
			History:  []historyRead{{Replica: 1, CallID: "c9", Got: 0, Want: 4}}, HistoryWrong: 1, Agree: "no (sequences 12 and 10)"}}
	return &report{Started: time.Date(2026, 11, 30, 21, 0, 0, 0, time.UTC), Finished: time.Date(2026, 11, 30, 21, 6, 0, 0, time.UTC),
		Command: "go run ./cmd/swchaos --out docs/reliability.md", Options: o, NATSVersion: "v2.15.2", Consoles: 6,
		Machine: machine.Machine{CPUs: 2, CPUModel: "Intel(R) Xeon(R) Processor", Memory: "23.5 GiB", OS: "Debian", GoServer: "go1.26.8",
			GoBench: "go1.26.8", ServerRevision: "5e169b9 + changes", LoadAverage: "1.0 1.0 1.0"},
		Phases: []*phase{clean, restart}, Totals: &result{Sent: 1500, Accepted: 1490, Stored: 1491}}
}

func TestReportTellsMetAndNotMet(t *testing.T) {
	md := testReport().Markdown()
	for _, want := range []string{
		"# Switchboard under faults",
		"Intel(R) Xeon(R) Processor, 2 CPUs",
		"built from 5e169b9 + changes",
		"`go run ./cmd/swchaos --out docs/reliability.md`",
		"| 1. No fault | 0 | 0 / 0 | 0 / 0 / 0 | 0 s | no refusal | 0 | met |",
		"| 2. Whole cluster restarted | 1 | 0 / 0 | 11 / 0 / 0 (2 stale snapshots refused) | 31.2 s | ≤ 30.2 s (outage 15.2 s + 15 s) | 183 over 4.7 s | **not met** |",
		"- t+10.0 s stop n1, n2, n3 (SIGTERM)",
		"- 0 replica exits: **not met**",
		"- no console served a snapshot older than its view: **not met**",
		"- webhook unavailability ≤ outage + 15 s: **not met**",
		"(503: 400, connection refused: 10)",
		"t+10.2 s to t+26.6 s (16.4 s: `not connected to NATS`)",
		"of which while `/readyz` said ready before and after: 183 (over 4.7 s at the longest)",
		"| replica-a/1 | sticky | 280 | 11 | 0 | 0 | 0 | 0 | 2 | 0 | 0 | 0 | 3 |",
		"- t+16.0 s replica-b (exit status 1): `save call: context deadline exceeded`",
		"**Both replicas' views equal at the check**: no (sequences 12 and 10).",
		"replica-b answered 0 events for c9, which has 4.",
		"*replica-b's view stayed at 10, behind the event log's 12*",
		"1500 notifications sent, 1490 accepted, 1491 stored",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(md)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := parseOptions([]string{"--only", "replica-kill, leader-kill", "--rate", "5"}, io.Discard)
	if err != nil || strings.Join(o.Only, ",") != "replica-kill,leader-kill" || o.Rate != 5 || o.Consoles != 3 || o.Baseline != time.Minute {
		t.Fatalf("options %+v, %v", o, err)
	}
	for _, bad := range [][]string{{"--only", "meteor"}, {"--only", ","}, {"--rate", "0"}, {"stray"}} {
		if _, err := parseOptions(bad, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got := commandLine([]string{"--out", "docs/reliability.md", "--note", "a shared machine"}); got != `go run ./cmd/swchaos --out docs/reliability.md --note "a shared machine"` {
		t.Errorf("commandLine = %s", got)
	}
}
