// Package historyquery is the contract of call history, shared by the
// server and the console: the question GET /api/history answers (its
// filters, in URL parameters), the row it answers with for each ended
// call, and a page of rows with the cursor of the next one.
//
// A query reads "calls that ended between From and To, whose number or
// name contains Party, in Direction, that reached State, that ended for a
// reason of Category, on which Actor acted". Parse checks a request's
// parameters and says in words what is wrong; Values writes them back, so
// the console builds the same URL the server reads.
//
// The package is pure Go: it is compiled into the WebAssembly console.
package historyquery

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchboard/app/calls"
	"switchboard/app/reasons"
)

// Page sizes: the default, and the most one page may hold.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// maxText bounds a text filter (a number, a name, a supervisor's name).
const maxText = 200

// The URL parameters of a query.
const (
	ParamFrom      = "from"
	ParamTo        = "to"
	ParamParty     = "party"
	ParamDirection = "direction"
	ParamState     = "state"
	ParamCategory  = "category"
	ParamActor     = "actor"
	ParamLimit     = "limit"
	ParamCursor    = "cursor"
)

// ErrBadQuery is wrapped by every error of Parse: the request asked
// something malformed (a 400, with the error's words).
var ErrBadQuery = errors.New("bad history query")

// Query is what a history request asks for. The zero Query asks for the
// newest DefaultLimit calls that ended.
type Query struct {
	// From and To bound when the call ended, both included; zero is open.
	From, To time.Time
	// Party finds calls whose caller or target has a number, a name or an
	// id containing it, without regard to case. A number written with
	// spaces, dashes or brackets finds the number without them.
	Party string
	// Direction is calls.DirectionIncoming or calls.DirectionOutgoing,
	// or "" for both.
	Direction string
	// State finds calls that went through this state (established: the
	// call was answered).
	State calls.State
	// Category finds calls that ended for a reason of this category.
	Category reasons.Category
	// Actor finds calls a supervisor whose name contains it acted on,
	// without regard to case.
	Actor string
	// Limit is the page size (DefaultLimit when zero, at most MaxLimit).
	Limit int
	// Cursor continues after the page that returned it; "" starts with
	// the newest.
	Cursor string
}

// Parse reads a query from URL parameters. Every error wraps ErrBadQuery
// and says which parameter is wrong and why.
func Parse(v url.Values) (Query, error) {
	var q Query
	var err error
	if q.From, err = parseTime(v, ParamFrom); err != nil {
		return Query{}, err
	}
	if q.To, err = parseTime(v, ParamTo); err != nil {
		return Query{}, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.From.After(q.To) {
		return Query{}, bad("%q (%s) is after %q (%s)", ParamFrom, v.Get(ParamFrom), ParamTo, v.Get(ParamTo))
	}
	if q.Party, err = parseText(v, ParamParty); err != nil {
		return Query{}, err
	}
	if q.Actor, err = parseText(v, ParamActor); err != nil {
		return Query{}, err
	}
	switch d := strings.ToLower(strings.TrimSpace(v.Get(ParamDirection))); d {
	case "", calls.DirectionIncoming, calls.DirectionOutgoing:
		q.Direction = d
	default:
		return Query{}, bad("%q must be %q or %q, not %q", ParamDirection, calls.DirectionIncoming, calls.DirectionOutgoing, d)
	}
	if s := strings.TrimSpace(v.Get(ParamState)); s != "" {
		if q.State = knownState(s); q.State == "" {
			return Query{}, bad("%q must be a call state (%s), not %q", ParamState, stateList(), s)
		}
	}
	if c := strings.ToLower(strings.TrimSpace(v.Get(ParamCategory))); c != "" {
		if !slices.Contains(reasons.Categories(), reasons.Category(c)) {
			return Query{}, bad("%q must be a reason category (%s), not %q", ParamCategory, categoryList(), c)
		}
		q.Category = reasons.Category(c)
	}
	if s := strings.TrimSpace(v.Get(ParamLimit)); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return Query{}, bad("%q must be a whole number from 1 to %d, not %q", ParamLimit, MaxLimit, s)
		}
		q.Limit = n
	}
	if q.Cursor = strings.TrimSpace(v.Get(ParamCursor)); q.Cursor != "" {
		if _, err := DecodeCursor(q.Cursor); err != nil {
			return Query{}, err
		}
	}
	return q, nil
}

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadQuery, fmt.Sprintf(format, args...))
}

func parseTime(v url.Values, name string) (time.Time, error) {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if t = t.UTC(); err != nil || t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, bad("%q must be a time in RFC 3339, like 2026-11-23T10:00:00Z, not %q", name, s)
	}
	return t, nil
}

func parseText(v url.Values, name string) (string, error) {
	s := strings.TrimSpace(v.Get(name))
	if len(s) > maxText {
		return "", bad("%q is longer than %d characters", name, maxText)
	}
	return s, nil
}

// knownState returns the documented state s names (any case), or "".
func knownState(s string) calls.State {
	for _, st := range calls.KnownStates {
		if strings.EqualFold(string(st), s) {
			return st
		}
	}
	return ""
}

func stateList() string {
	names := make([]string, len(calls.KnownStates))
	for i, s := range calls.KnownStates {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

func categoryList() string {
	var names []string
	for _, c := range reasons.Categories() {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ")
}

// PageSize is the query's limit, or DefaultLimit.
func (q Query) PageSize() int {
	if q.Limit <= 0 {
		return DefaultLimit
	}
	return min(q.Limit, MaxLimit)
}

// Values writes the query as URL parameters, leaving out what is unset:
// Parse(q.Values()) is q.
func (q Query) Values() url.Values {
	v := url.Values{}
	set := func(name, value string) {
		if value != "" {
			v.Set(name, value)
		}
	}
	if !q.From.IsZero() {
		v.Set(ParamFrom, q.From.UTC().Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set(ParamTo, q.To.UTC().Format(time.RFC3339Nano))
	}
	set(ParamParty, q.Party)
	set(ParamDirection, q.Direction)
	set(ParamState, string(q.State))
	set(ParamCategory, string(q.Category))
	set(ParamActor, q.Actor)
	if q.Limit > 0 {
		v.Set(ParamLimit, strconv.Itoa(q.Limit))
	}
	set(ParamCursor, q.Cursor)
	return v
}

// Filtered reports whether the query filters on anything but time.
func (q Query) Filtered() bool {
	return q.Party != "" || q.Direction != "" || q.State != "" || q.Category != "" || q.Actor != ""
}

// Match reports whether r answers the query (the cursor and the limit
// aside).
func (q Query) Match(r Row) bool {
	switch {
	case !q.From.IsZero() && r.EndedAt.Before(q.From):
		return false
	case !q.To.IsZero() && r.EndedAt.After(q.To):
		return false
	case q.Direction != "" && !strings.EqualFold(r.Direction, q.Direction):
		return false
	case q.State != "" && !slices.Contains(r.Reached, q.State):
		return false
	case q.Category != "" && r.Category != q.Category:
		return false
	case q.Actor != "" && !slices.ContainsFunc(r.Actors, func(a string) bool { return containsFold(a, q.Actor) }):
		return false
	case q.Party != "" && !matchParty(r, q.Party):
		return false
	}
	return true
}

func matchParty(r Row, want string) bool {
	digits := digitsOf(want)
	numeric := digits != "" && strings.Trim(want, "0123456789+-.() ") == ""
	for _, p := range append([]calls.Party{r.Source}, r.Targets...) {
		for _, s := range []string{p.DisplayName, p.Phone, p.ID} {
			if containsFold(s, want) || numeric && s != "" && strings.Contains(digitsOf(s), digits) {
				return true
			}
		}
	}
	return false
}

func containsFold(s, sub string) bool {
	return sub != "" && strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Row is one ended call, as history lists it.
type Row struct {
	ID         string        `json:"id"`
	ChainID    string        `json:"chainId,omitempty"`
	Direction  string        `json:"direction,omitempty"`
	Source     calls.Party   `json:"source"`
	Targets    []calls.Party `json:"targets,omitempty"`
	Subject    string        `json:"subject,omitempty"`
	StartedAt  time.Time     `json:"startedAt"`
	AnsweredAt time.Time     `json:"answeredAt,omitzero"`
	EndedAt    time.Time     `json:"endedAt"`
	// Reached lists the states the call went through.
	Reached []calls.State `json:"reached,omitempty"`
	// Actors names who acted on the call; EndedBy who ended it, with
	// EndAction (hangup, reject, redirect, transfer).
	Actors    []string `json:"actors,omitempty"`
	EndedBy   string   `json:"endedBy,omitempty"`
	EndAction string   `json:"endAction,omitempty"`
	// Category and Reason say why the call ended; Code is what Graph sent
	// ("200/5001", or a terminationReason).
	Category reasons.Category `json:"category"`
	Reason   string           `json:"reason"`
	Code     string           `json:"code,omitempty"`
}

// RowFor is the row of an ended call.
func RowFor(c calls.Call) Row {
	why := reasons.ForCall(c)
	return Row{ID: c.ID, ChainID: c.ChainID, Direction: c.Direction, Source: c.Source,
		Targets: slices.Clone(c.Targets), Subject: c.Subject,
		StartedAt: c.StartedAt, AnsweredAt: c.AnsweredAt, EndedAt: c.EndedAt,
		Reached: reached(c), Actors: slices.Clone(c.Actors),
		EndedBy: c.EndedBy, EndAction: string(c.EndAction),
		Category: why.Category, Reason: why.Text, Code: why.Raw()}
}

// reached is the states c went through; for a call whose states were not
// recorded (it ended before they were), what its times tell.
func reached(c calls.Call) []calls.State {
	if len(c.Reached) > 0 {
		return slices.Clone(c.Reached)
	}
	var out []calls.State
	if !c.AnsweredAt.IsZero() {
		out = append(out, calls.Established)
	}
	if c.State != "" && !slices.Contains(out, c.State) {
		out = append(out, c.State)
	}
	return out
}

// Duration is how long the call lasted: from its answer (or its start,
// if never answered) to its end.
func (r Row) Duration() time.Duration {
	from := r.AnsweredAt
	if from.IsZero() {
		from = r.StartedAt
	}
	if from.IsZero() || r.EndedAt.Before(from) {
		return 0
	}
	return r.EndedAt.Sub(from)
}

// Page is one page of history, newest ended first.
type Page struct {
	Rows []Row `json:"rows"`
	// Next is the cursor of the next, older page; "" when there is none.
	Next string `json:"next,omitempty"`
}

// cursorPrefix versions the cursor's encoding.
const cursorPrefix = "h1."

// EncodeCursor makes the opaque cursor of a position in the history
// index: the next page holds what is below it.
func EncodeCursor(pos uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatUint(pos, 10)))
}

// DecodeCursor reads a cursor EncodeCursor made.
func DecodeCursor(s string) (uint64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	rest, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if err != nil || !ok {
		return 0, bad("%q is not a cursor a history page gave", ParamCursor)
	}
	pos, err := strconv.ParseUint(rest, 10, 64)
	if err != nil || pos == 0 {
		return 0, bad("%q is not a cursor a history page gave", ParamCursor)
	}
	return pos, nil
}
