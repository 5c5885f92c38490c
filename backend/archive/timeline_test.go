package archive_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"switchboard/app/calls"
	"switchboard/app/historyquery"
	"switchboard/app/verbs"
	"switchboard/backend/archive"
	"switchboard/backend/natstest"
)

// knownLog archives ten calls that ended a minute apart, ending now,
// alternately incoming from a number and outgoing to a named person;
// the third was answered and hung up by alice.
func knownLog(t *testing.T) (*archive.Archive, time.Time) {
	t.Helper()
	ctx := context.Background()
	a, err := archive.Open(ctx, natstest.JetStream(t), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().UTC().Truncate(time.Second)
	for i := range 10 {
		c := calls.Call{ID: fmt.Sprintf("call-%d", i), State: calls.Terminated, Direction: calls.DirectionIncoming,
			Source:  calls.Party{Kind: "phone", ID: fmt.Sprintf("+1425555%04d", i), Phone: fmt.Sprintf("+1425555%04d", i)},
			Targets: []calls.Party{{Kind: "application", ID: "bot-app", DisplayName: "Calling Bot"}},
			Reached: []calls.State{calls.Incoming, calls.Terminated},
			Result:  &calls.Result{Code: 200, Subcode: 5001}}
		if i%2 == 1 {
			c.Direction = calls.DirectionOutgoing
			c.Source, c.Targets = c.Targets[0], []calls.Party{{Kind: "user", ID: fmt.Sprintf("user-%d", i), DisplayName: fmt.Sprintf("Ada Lovelace %d", i)}}
			c.Reached = []calls.State{calls.Establishing, calls.Terminated}
			c.Result = &calls.Result{Code: 408, Subcode: 8537}
		}
		c.EndedAt = end.Add(time.Duration(i-9) * time.Minute)
		c.StartedAt = c.EndedAt.Add(-30 * time.Second)
		if i == 3 {
			c.AnsweredAt = c.StartedAt.Add(5 * time.Second)
			c.Reached = []calls.State{calls.Establishing, calls.Established, calls.Terminated}
			c.Actors, c.EndedBy, c.EndAction = []string{"alice"}, "alice", verbs.HangUp
		}
		if err := a.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return a, end
}

// scan returns the ids a query finds, newest first, and the cursor left.
func scan(t *testing.T, a *archive.Archive, q historyquery.Query, limit int) ([]string, string) {
	t.Helper()
	var ids []string
	next, err := a.Scan(context.Background(), q, archive.ScanOptions{}, func(r historyquery.Row) bool {
		if len(ids) == limit {
			return false
		}
		ids = append(ids, r.ID)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if next == 0 {
		return ids, ""
	}
	return ids, historyquery.EncodeCursor(next)
}

func TestHistoryFiltersAgainstAKnownLog(t *testing.T) {
	a, end := knownLog(t)
	tests := []struct {
		name string
		q    historyquery.Query
		want []string
	}{
		{"everything, newest first", historyquery.Query{}, []string{"call-9", "call-8", "call-7", "call-6", "call-5", "call-4", "call-3", "call-2", "call-1", "call-0"}},
		{"a time range", historyquery.Query{From: end.Add(-3 * time.Minute), To: end.Add(-time.Minute)}, []string{"call-8", "call-7", "call-6"}},
		{"from only", historyquery.Query{From: end.Add(-time.Minute)}, []string{"call-9", "call-8"}},
		{"to only", historyquery.Query{To: end.Add(-8 * time.Minute)}, []string{"call-1", "call-0"}},
		{"a number, written as people do", historyquery.Query{Party: "(425) 555-0004"}, []string{"call-4"}},
		{"a name, any case", historyquery.Query{Party: "ada LOVELACE 7"}, []string{"call-7"}},
		{"direction", historyquery.Query{Direction: calls.DirectionOutgoing, From: end.Add(-4 * time.Minute)}, []string{"call-9", "call-7", "call-5"}},
		{"state reached", historyquery.Query{State: calls.Established}, []string{"call-3"}},
		{"reason category", historyquery.Query{Category: "timeout", To: end.Add(-4 * time.Minute)}, []string{"call-5", "call-1"}},
		{"ended by a supervisor", historyquery.Query{Category: "bot"}, []string{"call-3"}},
		{"who acted", historyquery.Query{Actor: "ALI"}, []string{"call-3"}},
		{"nobody", historyquery.Query{Party: "+19999"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := scan(t, a, tt.q, 100); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHistoryPagesWithACursor(t *testing.T) {
	a, _ := knownLog(t)
	var all []string
	q := historyquery.Query{Direction: calls.DirectionIncoming}
	for range 10 {
		ids, next := scan(t, a, q, 2)
		all = append(all, ids...)
		if next == "" {
			break
		}
		q.Cursor = next
	}
	if want := []string{"call-8", "call-6", "call-4", "call-2", "call-0"}; !slices.Equal(all, want) {
		t.Fatalf("pages of two: %v, want %v", all, want)
	}
}

func TestHistoryScanStopsWhereItIsBounded(t *testing.T) {
	ctx := context.Background()
	a, err := archive.Open(ctx, natstest.JetStream(t), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if err := a.Put(ctx, calls.Call{ID: fmt.Sprintf("c%03d", i), State: calls.Terminated, EndedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	// Reads go by chunks: a bounded scan stops at the end of one and says
	// where to go on; going on reads the rest.
	q := historyquery.Query{}
	var total []string
	for range 3 {
		var got []string
		next, err := a.Scan(ctx, q, archive.ScanOptions{MaxScan: 1}, func(r historyquery.Row) bool {
			got = append(got, r.ID)
			return true
		})
		if err != nil || len(got) == 0 || len(got) >= 300 {
			t.Fatalf("a scan bounded to one chunk read %d rows (%v)", len(got), err)
		}
		total = append(total, got...)
		if next == 0 {
			break
		}
		q.Cursor = historyquery.EncodeCursor(next)
	}
	if len(total) != 300 || total[0] != "c299" || total[299] != "c000" || slices.Contains(total[1:], "c299") {
		t.Fatalf("bounded scans read %d rows in all, from %s", len(total), total[0])
	}
}

func TestDeletedAndMarkedCallsNeverAppearInHistory(t *testing.T) {
	a, _ := knownLog(t)
	ctx := context.Background()
	if err := a.Delete(ctx, "call-4"); err != nil {
		t.Fatal(err)
	}
	marked := calls.Call{ID: "call-4b", State: calls.Terminated, EndedAt: time.Now(), MarkedForDeletion: true,
		Source: calls.Party{Phone: "+14255550004"}}
	if err := a.Put(ctx, marked); err != nil {
		t.Fatal(err)
	}
	// Archived again after late news: listed once, at its new place.
	again, _, _ := a.Get(ctx, "call-2")
	if err := a.Put(ctx, again); err != nil {
		t.Fatal(err)
	}
	if got, _ := scan(t, a, historyquery.Query{Party: "5550004"}, 100); len(got) != 0 {
		t.Fatalf("a deleted or marked call is in history: %v", got)
	}
	if got, _ := scan(t, a, historyquery.Query{Direction: calls.DirectionIncoming}, 100); !slices.Equal(got, []string{"call-2", "call-8", "call-6", "call-0"}) {
		t.Fatalf("after deleting call-4 and archiving call-2 again: %v", got)
	}
}

// TestHistoryReadsOnlyTheTimeRangeAsked archives calls whose end is in a
// query's range but which were archived outside it: the query does not
// read them, which shows it reads only the part of the index its range
// covers (a real call is archived within a second of its end).
func TestHistoryReadsOnlyTheTimeRangeAsked(t *testing.T) {
	ctx := context.Background()
	a, err := archive.Open(ctx, natstest.JetStream(t), archive.Options{Slack: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	put := func(id string, ended time.Time) {
		if err := a.Put(ctx, calls.Call{ID: id, State: calls.Terminated, EndedAt: ended}); err != nil {
			t.Fatal(err)
		}
	}
	pause := func() time.Time {
		time.Sleep(50 * time.Millisecond)
		mark := time.Now().UTC()
		time.Sleep(50 * time.Millisecond)
		return mark
	}
	put("archived-early", future)
	afterEarly := pause()
	put("middle-past", past)
	put("middle-future", future)
	beforeLate := pause()
	put("archived-late", past)
	if got, _ := scan(t, a, historyquery.Query{From: afterEarly}, 100); !slices.Equal(got, []string{"middle-future"}) {
		t.Fatalf("from %s the query read %v, want only what was archived since (middle-future)", afterEarly, got)
	}
	if got, _ := scan(t, a, historyquery.Query{To: beforeLate}, 100); !slices.Equal(got, []string{"middle-past"}) {
		t.Fatalf("to %s the query read %v, want only what was archived until then (middle-past)", beforeLate, got)
	}
	if got, _ := scan(t, a, historyquery.Query{}, 100); len(got) != 4 {
		t.Fatalf("without a range: %v", got)
	}
}

// BenchmarkHistoryPage reads one page of 50 rows, and one search by number
// that reads the whole index (5,000 calls) to find one call.
func BenchmarkHistoryPage(b *testing.B) {
	ctx := context.Background()
	a, err := archive.Open(ctx, natstest.JetStream(b), archive.Options{})
	if err != nil {
		b.Fatal(err)
	}
	const n = 5000
	for i := range n {
		c := calls.Call{ID: fmt.Sprintf("bench-%05d", i), State: calls.Terminated, EndedAt: time.Now(),
			Source: calls.Party{Kind: "phone", Phone: fmt.Sprintf("+1425%07d", i)}}
		if err := a.Put(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		q    historyquery.Query
		want int
	}{
		{"newest-50", historyquery.Query{}, 50},
		{"one-number-in-5000", historyquery.Query{Party: "+14250000007"}, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				got := 0
				if _, err := a.Scan(ctx, bc.q, archive.ScanOptions{}, func(historyquery.Row) bool {
					got++
					return got < bc.want+1
				}); err != nil || got < bc.want {
					b.Fatalf("%d rows (%v)", got, err)
				}
			}
		})
	}
}
