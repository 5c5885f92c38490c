package localcluster

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Failure is a part that ended by itself.
type Failure struct {
	Part string
	At   time.Time
	// Status is how the process ended; Reason the last error it logged.
	Status, Reason string
}

// Supervisor records every part of a cluster that exits by itself and
// starts it again, as a process supervisor (systemd, Kubernetes) would,
// waiting longer after each exit in a row (1 s, doubling, at most 8 s), so
// that a long run goes on and counts every exit.
type Supervisor struct {
	cluster *Cluster
	log     *slog.Logger

	mu       sync.Mutex
	failures []Failure
	ctx      context.Context
	wg       sync.WaitGroup
	stopped  bool
	streak   map[string]int
}

// Supervise watches every part of c from now on and restarts those that
// exit by themselves until ctx ends or Stop.
func Supervise(ctx context.Context, c *Cluster, log *slog.Logger) *Supervisor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Supervisor{cluster: c, log: log, ctx: ctx, streak: map[string]int{}}
	for _, p := range c.Processes() {
		p.setOnExit(s.exited)
	}
	return s
}

// exited hears of every run that ends.
func (s *Supervisor) exited(e Exit) {
	if e.Expected {
		return
	}
	x := Failure{Part: e.Name, At: e.At, Status: "exited", Reason: LastError(e.Tail)}
	if e.Err != nil {
		x.Status = e.Err.Error()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, x)
	s.log.Warn("a part exited by itself", "part", e.Name, "status", x.Status, "reason", x.Reason)
	if s.stopped {
		return
	}
	s.streak[e.Name]++
	wait := min(time.Second<<min(s.streak[e.Name]-1, 3), 8*time.Second)
	ctx := s.ctx
	s.wg.Go(func() { s.restart(ctx, e.Name, wait) })
}

// restart starts the part again after wait, unless the run ends first.
func (s *Supervisor) restart(ctx context.Context, name string, wait time.Duration) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(wait):
	}
	p, err := s.cluster.Part(name)
	if err != nil || p.Running() {
		return
	}
	s.log.Info("restarting", "part", name)
	if err := s.cluster.StartPart(ctx, p); err != nil {
		s.log.Warn("restart failed", "part", name, "err", err)
		return
	}
	s.mu.Lock()
	s.streak[name] = 0
	s.mu.Unlock()
}

// Stop ends the restarts and waits for those under way.
func (s *Supervisor) Stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.wg.Wait()
}

// Failures returns every exit by itself so far, in order.
func (s *Supervisor) Failures() []Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Failure(nil), s.failures...)
}

// LastError is the message (and error) of the last line at level ERROR
// of a JSON log; else a panic's first line; else the last line.
func LastError(tail string) string {
	var last, lastLine, panicLine string
	sc := bufio.NewScanner(strings.NewReader(tail))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		lastLine = line
		if strings.HasPrefix(line, "panic:") && panicLine == "" {
			panicLine = line
		}
		var l struct {
			Level, Msg, Err, Error string
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Level == "ERROR" {
			last = l.Msg
			if e := l.Err + l.Error; e != "" {
				last += ": " + e
			}
		}
	}
	if last == "" {
		last = panicLine
	}
	if last == "" {
		last = lastLine
	}
	if len(last) > 300 {
		last = last[:297] + "..."
	}
	return last
}
