package main

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"switchboard/cmd/internal/localcluster"
)

// exit is a part that ended by itself.
type exit struct {
	Part string
	At   time.Time
	// Status is how the process ended; Reason the last error it logged.
	Status, Reason string
}

// supervisor records every part that exits by itself and starts it
// again, as a process supervisor would, waiting longer after each exit in
// a row (1 s, doubling, at most 8 s).
type supervisor struct {
	cluster *localcluster.Cluster
	log     *slog.Logger

	mu      sync.Mutex
	exits   []exit
	ctx     context.Context
	wg      sync.WaitGroup
	stopped bool
	streak  map[string]int
}

func (s *supervisor) start(ctx context.Context) {
	s.mu.Lock()
	s.ctx, s.streak = ctx, map[string]int{}
	s.mu.Unlock()
}

// exited hears of every run that ends (localcluster's OnExit).
func (s *supervisor) exited(e localcluster.Exit) {
	if e.Expected {
		return
	}
	x := exit{Part: e.Name, At: e.At, Status: "exited", Reason: lastError(e.Tail)}
	if e.Err != nil {
		x.Status = e.Err.Error()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exits = append(s.exits, x)
	s.log.Warn("a part exited by itself", "part", e.Name, "status", x.Status, "reason", x.Reason)
	if s.stopped || s.ctx == nil {
		return
	}
	s.streak[e.Name]++
	wait := min(time.Second<<min(s.streak[e.Name]-1, 3), 8*time.Second)
	ctx := s.ctx
	s.wg.Go(func() { s.restart(ctx, e.Name, wait) })
}

// restart starts the part again after wait, unless the run ends first.
func (s *supervisor) restart(ctx context.Context, name string, wait time.Duration) {
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

// stop ends the restarts and waits for those under way.
func (s *supervisor) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.wg.Wait()
}

// all returns every exit so far.
func (s *supervisor) all() []exit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]exit(nil), s.exits...)
}

// lastError is the message (and error) of the last line at level ERROR
// of a JSON log; else a panic's first line; else the last line.
func lastError(tail string) string {
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
