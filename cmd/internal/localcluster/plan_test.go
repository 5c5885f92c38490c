package localcluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func demoPlan(t *testing.T) *Plan {
	t.Helper()
	p, err := NewPlan(Options{Dir: t.TempDir(), Ports: DemoPorts, PublicHost: "localhost", SimRate: 12, Seed: 5,
		AutoAnswer: 5 * time.Second, ReplicaArgs: []string{"--log-level", "debug"},
		Bin: Binaries{NATSServer: "/b/nats-server", Switchboard: "/b/switchboard", Graphsim: "/b/graphsim", Web: "/w"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// args joins a part's flags with spaces around each, so that a test can
// look for " --flag value ".
func args(p Part) string { return " " + strings.Join(p.Args, " ") + " " }

func TestDemoPlan(t *testing.T) {
	p := demoPlan(t)
	parts := p.Parts()
	var names []string
	for _, part := range parts {
		names = append(names, part.Name)
	}
	if got := strings.Join(names, " "); got != "n1 n2 n3 graphsim replica-a replica-b" {
		t.Fatalf("parts = %s, want the nodes, the simulator, then the replicas", got)
	}
	const nats = "nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224"
	for _, tt := range []struct {
		part Part
		want []string
	}{
		{parts[1], []string{"-c " + filepath.Join(p.Dir, "n2.conf")}},
		{parts[3], []string{"--addr 127.0.0.1:9090", "--rate 12", "--seed 5",
			"--callback-url http://localhost:8080/api/graph/notifications,http://localhost:8081/api/graph/notifications"}},
		{parts[4], []string{"--addr 127.0.0.1:8080", "--public-url http://localhost:8080", "--nats-url " + nats,
			"--replicas 3", "--dev-identity", "--graph-url http://127.0.0.1:9090/v1.0", "--auto-answer-after 5s",
			"--notify-jwks-url http://127.0.0.1:9090/v1/keys", "--web /w", "--log-level debug"}},
		{parts[5], []string{"--addr 127.0.0.1:8081", "--public-url http://localhost:8081"}},
	} {
		for _, w := range tt.want {
			if !strings.Contains(args(tt.part), " "+w+" ") {
				t.Errorf("%s: flags %q lack %q", tt.part.Name, tt.part.Args, w)
			}
		}
	}
	if strings.Contains(args(parts[4]), "secret") || !strings.Contains(strings.Join(parts[4].Env, " "), "SWITCHBOARD_CLIENT_SECRET=") {
		t.Errorf("the client secret must go through the environment, not the flags: %q %q", parts[4].Args, parts[4].Env)
	}
	if parts[4].Health != "http://127.0.0.1:8080/readyz" || parts[0].Health != "http://127.0.0.1:8222/healthz" {
		t.Errorf("health URLs %q %q", parts[4].Health, parts[0].Health)
	}

	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(p.Dir, "n3.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"server_name: n3", "listen: 127.0.0.1:4224", "http: 127.0.0.1:8224", "name: switchboard-local",
		"listen: 127.0.0.1:6224", `routes: ["nats://127.0.0.1:6222", "nats://127.0.0.1:6223", "nats://127.0.0.1:6224"]`,
		`store_dir: "` + filepath.Join(p.Dir, "data", "n3") + `"`} {
		if !strings.Contains(string(conf), w) {
			t.Errorf("n3.conf lacks %q:\n%s", w, conf)
		}
	}
}

func TestFreePortPlan(t *testing.T) {
	p, err := NewPlan(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	addrs := []string{p.Simulator}
	for _, n := range p.Nodes {
		addrs = append(addrs, n.Client, n.Route, n.Monitor)
	}
	for _, r := range p.Replicas {
		addrs = append(addrs, r.Addr)
	}
	if len(p.Nodes) != 3 || len(p.Replicas) != 2 {
		t.Fatalf("%d nodes and %d replicas, want 3 and 2", len(p.Nodes), len(p.Replicas))
	}
	for _, a := range addrs {
		if !strings.HasPrefix(a, "127.0.0.1:") || strings.HasSuffix(a, ":0") || seen[a] {
			t.Fatalf("address %q: not a distinct loopback port (all: %q)", a, addrs)
		}
		seen[a] = true
	}
	if _, err := NewPlan(Options{}); err == nil {
		t.Fatal("a plan without a directory was accepted")
	}
}
