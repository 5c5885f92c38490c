// Package readiness decides what a replica's /readyz says. A load balancer
// sends Graph's notifications and supervisors' browsers only to replicas
// that answer 200 there, so it must be the truth: 503 while the replica is
// still starting, catching up with the event log, waiting for the identity
// provider, or unable to store a notification right now.
//
// A Gate holds named conditions, each either met or not with a reason in
// words. The replica is ready when every condition is met; /readyz lists the
// reasons otherwise.
package readiness

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Gate is a set of named conditions. The zero value has none (and is
// ready); a Gate is safe for concurrent use.
type Gate struct {
	// OnChange, if set, is called (outside the gate's lock, in order) each
	// time readiness flips, with the reasons it is not ready ("" when it
	// is).
	OnChange func(ready bool, why string)

	mu     sync.Mutex
	order  []string          // condition names, in the order first declared
	unmet  map[string]string // name -> why it is not met
	ready  bool
	inited bool
	notify sync.Mutex // keeps OnChange calls in order
}

// Require declares a condition, not met until Set says otherwise, with the
// reason /readyz gives meanwhile.
func (g *Gate) Require(name, why string) {
	g.Set(name, why)
}

// Set records whether condition name is met: why is "" when it is, and the
// reason in words when it is not.
func (g *Gate) Set(name, why string) {
	g.notify.Lock()
	defer g.notify.Unlock()
	g.mu.Lock()
	if g.unmet == nil {
		g.unmet = make(map[string]string)
	}
	if !contains(g.order, name) {
		g.order = append(g.order, name)
	}
	if why == "" {
		delete(g.unmet, name)
	} else {
		g.unmet[name] = why
	}
	ready, reasons := g.stateLocked()
	changed := !g.inited || ready != g.ready
	g.ready, g.inited = ready, true
	g.mu.Unlock()
	if changed && g.OnChange != nil {
		g.OnChange(ready, reasons)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Ready reports whether every condition is met, and the reasons when not.
func (g *Gate) Ready() (bool, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stateLocked()
}

// Why returns the reason condition name is not met, or "".
func (g *Gate) Why(name string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.unmet[name]
}

func (g *Gate) stateLocked() (bool, string) {
	var reasons []string
	for _, name := range g.order {
		if why, ok := g.unmet[name]; ok {
			reasons = append(reasons, why)
		}
	}
	return len(reasons) == 0, strings.Join(reasons, "; ")
}

// ServeHTTP answers /readyz: 200 "ready", or 503 with the reasons, one per
// line, and a Retry-After.
func (g *Gate) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	ready, why := g.Ready()
	if ready {
		w.Write([]byte("ready\n"))
		return
	}
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write([]byte(strings.ReplaceAll(why, "; ", "\n") + "\n"))
}

// Sticky holds a condition unmet for a while after a failure, so that a
// probe that succeeds between failures (a leader that answers questions
// but cannot store) does not flap the gate back to ready.
type Sticky struct {
	Gate *Gate
	Name string
	// Hold is how long a failure keeps the condition unmet (default 3s).
	Hold time.Duration

	mu      sync.Mutex
	until   time.Time
	lastWhy string
}

// Fail records a failure: the condition is unmet at least for Hold.
func (s *Sticky) Fail(why string) {
	s.mu.Lock()
	s.until, s.lastWhy = time.Now().Add(s.hold()), why
	s.mu.Unlock()
	s.Gate.Set(s.Name, why)
}

// OK records a success: the condition is met, unless a failure is still
// being held.
func (s *Sticky) OK() {
	s.mu.Lock()
	held := time.Now().Before(s.until)
	why := s.lastWhy
	s.mu.Unlock()
	if held {
		s.Gate.Set(s.Name, why)
		return
	}
	s.Gate.Set(s.Name, "")
}

func (s *Sticky) hold() time.Duration {
	if s.Hold <= 0 {
		return 3 * time.Second
	}
	return s.Hold
}
