package console

import (
	"bytes"
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"switchboard/app/calls"
	"switchboard/app/reasons"
)

// Filter selects the calls a view shows.
type Filter struct {
	// Ended selects the recently ended calls (most recently ended first)
	// instead of the live ones (newest first).
	Ended bool
	// States keeps only calls in one of these states; empty keeps all.
	States []calls.State
	// Direction keeps only incoming or outgoing calls; empty keeps both.
	Direction string
	// Search keeps calls whose id, caller, callees (display name, phone
	// number or user id) or subject contain it, ignoring case.
	Search string
	// Category keeps only ended calls whose end falls in it; empty keeps
	// all. Live calls have none: a live view with a category is empty.
	Category reasons.Category
	// Sort orders the calls by a column instead of by time; Desc reverses
	// it. Ties keep the time order.
	Sort SortKey
	Desc bool
}

// SortKey names a column calls can be sorted by.
type SortKey string

// The columns people sort a board by.
const (
	// SortTime is the default: newest first (live), most recently ended
	// first (ended).
	SortTime SortKey = ""
	// SortState orders by state, in the order calls go through them.
	SortState SortKey = "state"
	// SortDuration orders by duration, shortest first: by the time the
	// call was answered (or started, if never answered), latest first, so
	// the order holds as the clock runs.
	SortDuration SortKey = "duration"
	// SortCaller and SortCallee order by the parties' names.
	SortCaller SortKey = "caller"
	SortCallee SortKey = "callee"
)

// SortKeys lists the columns that sort, for the table's headers.
var SortKeys = []SortKey{SortState, SortDuration, SortCaller, SortCallee}

// IsZero reports whether the filter keeps every call of its list (in
// whatever order).
func (f Filter) IsZero() bool {
	return len(f.States) == 0 && f.Direction == "" && strings.TrimSpace(f.Search) == "" && f.Category == ""
}

// filterKey is a Filter in a comparable form, to cache views by.
type filterKey struct {
	ended     bool
	states    string
	direction string
	search    string
	category  reasons.Category
	sort      SortKey
	desc      bool
}

func (f Filter) key() filterKey {
	states := make([]string, len(f.States))
	for i, st := range f.States {
		states[i] = string(st)
	}
	slices.Sort(states)
	return filterKey{ended: f.Ended, states: strings.Join(states, ","), direction: f.Direction,
		search: strings.ToLower(strings.TrimSpace(f.Search)), category: f.Category, sort: f.Sort, desc: f.Desc}
}

// matcher tests entries against a filter.
type matcher struct {
	states    map[calls.State]bool
	direction string
	search    string
	category  reasons.Category
}

func (k filterKey) matcher() matcher {
	m := matcher{direction: k.direction, search: k.search, category: k.category}
	if k.states != "" {
		m.states = make(map[calls.State]bool)
		for st := range strings.SplitSeq(k.states, ",") {
			m.states[calls.State(st)] = true
		}
	}
	return m
}

func (m matcher) match(s *Store, e *entry) bool {
	if m.search != "" && !bytes.Contains(s.textOf(e), []byte(m.search)) {
		return false
	}
	if m.direction != "" && s.directionOf(e) != m.direction {
		return false
	}
	if m.states != nil && !m.states[s.stateOf(e)] {
		return false
	}
	if m.category != "" && (!e.ended || s.categoryOf(e) != m.category) {
		return false
	}
	return true
}

// Keeps reports whether the filter f keeps the call id the store holds:
// whether the table f selects shows it, on some page.
func (s *Store) Keeps(f Filter, id string) bool {
	i, ok := s.find(id)
	if !ok {
		return false
	}
	e := &s.entries[i]
	return e.ended == f.Ended && f.key().matcher().match(s, e)
}

type cachedView struct {
	version uint64
	list    []slot
}

// View returns the calls the filter keeps, from offset, at most limit of
// them, and how many the filter keeps in all. Live calls come newest first,
// ended ones most recently ended first.
//
// The store keeps both lists sorted as calls change, and caches a filtered
// list until the next change, so View costs at most one pass over the calls
// per change, and no sort.
func (s *Store) View(f Filter, offset, limit int) ([]calls.Call, int) {
	list := s.filtered(f)
	total := len(list)
	offset = max(0, min(offset, total))
	end := total
	if limit >= 0 {
		end = min(total, offset+limit)
	}
	out := make([]calls.Call, 0, end-offset)
	for _, i := range list[offset:end] {
		out = append(out, s.decode(i))
	}
	return out, total
}

func (s *Store) filtered(f Filter) []slot {
	all := s.live
	if f.Ended {
		all = s.ended
	}
	if f.IsZero() && f.Sort == SortTime {
		return all
	}
	k := f.key()
	if v, ok := s.cache[k]; ok && v.version == s.version {
		return v.list
	}
	m := k.matcher()
	var list []slot
	for _, i := range all {
		if m.match(s, &s.entries[i]) {
			list = append(list, i)
		}
	}
	if k.sort != SortTime {
		// Stable: ties keep the time order of all.
		slices.SortStableFunc(list, func(a, b slot) int {
			c := s.compareBy(k.sort, &s.entries[a], &s.entries[b])
			if k.desc {
				return -c
			}
			return c
		})
	}
	s.cache[k] = cachedView{version: s.version, list: list}
	return list
}

// compareBy orders two calls by a column.
func (s *Store) compareBy(key SortKey, a, b *entry) int {
	switch key {
	case SortState:
		return cmp.Compare(stateRank(s.stateOf(a)), stateRank(s.stateOf(b)))
	case SortDuration:
		return cmp.Compare(b.countsFrom, a.countsFrom)
	case SortCaller:
		return bytes.Compare(s.callerOf(a), s.callerOf(b))
	case SortCallee:
		return bytes.Compare(s.calleeOf(a), s.calleeOf(b))
	}
	return 0
}

// stateRank is a state's place in the order calls go through them;
// unknown states come last.
func stateRank(s calls.State) int {
	if i := slices.Index(calls.KnownStates, s); i >= 0 {
		return i
	}
	return len(calls.KnownStates)
}

// StateCount is how many live calls are in one state.
type StateCount struct {
	State calls.State
	Count int
}

// CategoryCount is how many calls ended for reasons of one category.
type CategoryCount struct {
	Category reasons.Category
	Count    int
}

// Summary counts calls for the console's summary bar.
type Summary struct {
	// Live is the number of calls not yet ended.
	Live int
	// ByState counts live calls per state: every documented state in
	// order (zero counts included), then unknown states by name.
	ByState []StateCount
	// EndedWithin is the window EndedByCategory counts over.
	EndedWithin time.Duration
	// Ended is the number of calls that ended within the window.
	Ended int
	// EndedByCategory counts those calls per category, every category in
	// order (zero counts included).
	EndedByCategory []CategoryCount
}

// Summary counts live calls by state and the calls that ended within the
// last window (on the server's clock) by category.
func (s *Store) Summary(window time.Duration) Summary {
	sum := Summary{Live: len(s.live), EndedWithin: window}
	byState := maps.Clone(s.byState)
	for _, st := range calls.KnownStates {
		if st != calls.Terminated {
			sum.ByState = append(sum.ByState, StateCount{st, byState[st]})
		}
		delete(byState, st)
	}
	var unknown []StateCount
	for st, n := range byState {
		unknown = append(unknown, StateCount{st, n})
	}
	slices.SortFunc(unknown, func(a, b StateCount) int { return strings.Compare(string(a.State), string(b.State)) })
	sum.ByState = append(sum.ByState, unknown...)

	since := s.Now().Add(-window)
	byCat := make(map[reasons.Category]int)
	for _, i := range s.ended {
		e := &s.entries[i]
		if e.endedAt < nanos(since) {
			break // sorted by end time, most recent first
		}
		byCat[s.categoryOf(e)]++
		sum.Ended++
	}
	for _, c := range reasons.Categories() {
		sum.EndedByCategory = append(sum.EndedByCategory, CategoryCount{c, byCat[c]})
	}
	return sum
}
