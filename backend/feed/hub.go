// Package feed serves the live feed: the websocket at /api/feed that gives a
// console a snapshot of the live view and then every change, in order, with
// nothing lost across reconnects.
//
// The Hub keeps the most recent changes, already encoded, in a ring. A
// client reconnecting with ?since=SEQ gets exactly the changes after SEQ
// from the ring, or a fresh snapshot when SEQ is older than the ring (or
// otherwise unknown): a gap is never skipped silently.
//
// Each client has its own bounded queue. Publishing never blocks on a
// client: one that falls further behind than its queue allows is
// disconnected with a close reason that says so, and it resumes with since.
// Writes have a timeout and pings keep idle connections honest.
//
// While masking is on (SetMasking), the consoles Options.Redacted names
// (viewers') get external parties masked (package privacy): a masked
// snapshot, shared by every such console of a view's version, and a
// masked copy of each change that names an external party, encoded once
// for all of them.
//
// A hub serves nobody until its view has caught up with the log (a
// restarting replica would otherwise hand consoles an old, partial view),
// and it tells its clients when the server has trouble (NATS away) and when
// that is over, so a console can say so while it stays connected.
package feed

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"switchboard/app/feedwire"
	"switchboard/app/privacy"
	"switchboard/backend/metrics"
)

// Snapshotter gives the hub the whole live view, encoded: the JSON of each
// call, in the order consoles show them, at the sequence seq they reflect.
// The hub never changes the list or the JSON, and shares them between every
// console the snapshot is sent to (the view hands the same list to every
// caller while it does not change); it writes them to each console through
// a small buffer, never joined.
type Snapshotter interface {
	EncodedSnapshot() (seq uint64, calls [][]byte, version uint64)
}

// MaskedSnapshotter gives the hub the live view with external parties
// masked, encoded as EncodedSnapshot is, for the consoles that must read
// them masked. A view without it serves them nothing while masking is on.
type MaskedSnapshotter interface {
	MaskedSnapshot() (seq uint64, calls [][]byte, version uint64)
}

// resumeWait is how long a client resuming from a sequence this replica has
// not reached yet (it came from a replica slightly ahead) waits for this
// one to get there, rather than being sent an older snapshot.
const resumeWait = 3 * time.Second

// Options tune the hub. Zero values take the defaults.
type Options struct {
	// RingSize is how many recent changes are kept for resuming (default 65,536).
	RingSize int
	// RingBytes bounds the ring's encoded size as well (default 64 MiB):
	// large notifications shorten the resumable past, never grow memory.
	RingBytes int
	// QueueLimit is how many messages a client may have waiting before it
	// is cut off as too slow (default 32,768). QueueBytes is what bounds a
	// client's memory; the count is there for tiny messages. At 8,192, a
	// console that lost its core for a second while the server took 8,000
	// notifications a second was cut, 6 MiB into its 16.
	QueueLimit int
	// QueueBytes bounds a client's waiting messages by size as well
	// (default 16 MiB).
	QueueBytes int
	// MaxPerSession caps the feeds one session may hold open at once
	// (default 20: a supervisor's tabs and windows, not a flood).
	MaxPerSession int
	// WriteTimeout bounds every write to a client (default 10s).
	WriteTimeout time.Duration
	// PingInterval is how often an idle connection is pinged (default 30s).
	PingInterval time.Duration
	// MaxFrame is the most bytes batched into one frame (default 256 KiB).
	MaxFrame int
	// WriteInterval is the shortest time between two frames to one
	// console (default 20ms; negative: none). A console whose feed is
	// busy gets what piled up meanwhile in one frame: a few writes a second
	// instead of one per change, which is what keeps a server with
	// thousands of consoles from spending itself in system calls. A quiet
	// feed is written at once.
	WriteInterval time.Duration
	// WriterLinger is how long a console's writer goroutine waits for more
	// before it ends (default 2s); an idle console has none.
	WriterLinger time.Duration
	// Redacted, if set, tells whether the console opening the feed with r
	// reads external parties masked while masking is on (a viewer's).
	Redacted func(r *http.Request) bool
	// Epoch names the event log's incarnation, sent with every snapshot and
	// resume (see feedwire.Message.Epoch).
	Epoch string
	// Arrive, if set, is told when a console's feed is open (the request
	// that opened it, its session) and returns what to call when it closes:
	// presence follows who is looking.
	Arrive  func(r *http.Request, session string) (leave func())
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.RingSize <= 0 {
		o.RingSize = 1 << 16
	}
	if o.RingBytes <= 0 {
		o.RingBytes = 64 << 20
	}
	if o.QueueLimit <= 0 {
		o.QueueLimit = 32768
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = 16 << 20
	}
	if o.MaxPerSession <= 0 {
		o.MaxPerSession = 20
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 30 * time.Second
	}
	if o.MaxFrame <= 0 {
		o.MaxFrame = 256 << 10
	}
	if o.WriteInterval == 0 {
		o.WriteInterval = 20 * time.Millisecond
	}
	if o.WriterLinger <= 0 {
		o.WriterLinger = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// entry is one encoded change in the ring.
type entry struct {
	seq    uint64
	callID string // the call the change is about, so a deletion can scrub it
	data   []byte
	// external is set when the change names an external party; masked is
	// then its masked encoding, when masking was on as it was published.
	external bool
	masked   []byte
}

// maskedData is what a console reading external parties masked is sent.
func (e entry) maskedData() []byte {
	switch {
	case !e.external:
		return e.data
	case e.masked != nil:
		return e.masked
	}
	// Published before masking was on: masked now, for this console.
	var m feedwire.Message
	if err := json.Unmarshal(e.data, &m); err != nil || m.Call == nil {
		return nil
	}
	return encodeMasked(m)
}

// encodeMasked encodes m with its call masked.
func encodeMasked(m feedwire.Message) []byte {
	c := privacy.Call(*m.Call)
	m.Call, m.CallJSON = &c, nil // the kept JSON is the unmasked call's
	data, _ := json.Marshal(m)   // feedwire messages always encode
	return data
}

// Hub fans changes out to feed clients.
type Hub struct {
	opts Options
	view Snapshotter

	mu      sync.Mutex
	ring    []entry // oldest first, at most RingSize entries and RingBytes bytes
	size    int     // bytes in the ring
	base    uint64  // the ring holds every change after base, up to head
	head    uint64
	clients map[*client]struct{}
	// sessions counts each session's clients, registered or on their way.
	sessions map[string]int
	closed   bool
	ready    bool   // the view caught up: snapshots may be served
	trouble  string // the server's trouble, told to every client
	// asides are the latest message of each kind that is no event of the
	// log (presence, claims), encoded: every client gets them on
	// subscribing and whenever they change.
	asides map[string][]byte
	// moved is closed and replaced each time head moves, to wake resumes
	// waiting for this replica to reach their sequence.
	moved chan struct{}

	// ended remembers recently ended sessions, so a feed whose handshake
	// raced its session's logout is closed too, not left open.
	ended map[string]time.Time

	// masking is set while redacted consoles read external parties
	// masked; maskOn mirrors it for Publish's encoding, outside the lock.
	// redactBase is the head when it last changed: a redacted console
	// holding a view from before then gets a snapshot, never a resume.
	masking    bool
	maskOn     atomic.Bool
	redactBase uint64
}

// NewHub returns a hub that takes snapshots from view.
func NewHub(view Snapshotter, opts Options) *Hub {
	return &Hub{opts: opts.withDefaults(), view: view, clients: make(map[*client]struct{}), ended: make(map[string]time.Time),
		sessions: make(map[string]int), moved: make(chan struct{})}
}

// CaughtUp opens the hub: the view holds everything the log held when it
// started, so its snapshots are as new as any replica's.
func (h *Hub) CaughtUp() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ready = true
}

// Ready reports whether the hub serves consoles yet.
func (h *Hub) Ready() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ready && !h.closed
}

// SetTrouble tells every client (and every client that connects while it
// lasts) why the server cannot move on, or, with "", that it can again.
func (h *Hub) SetTrouble(trouble string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if trouble == h.trouble {
		return
	}
	h.trouble = trouble
	data := h.statusLocked().data
	for c := range h.clients {
		if !c.push(data) {
			h.drop(c, feedwire.ReasonSlow)
			h.opts.Metrics.SlowClient()
		}
	}
}

// SetAside tells every client (and every client that connects later) m,
// a message that is no event of the log and replaces the one of its type
// before it: who is looking (feedwire.TypePresence), who acts on which
// call (feedwire.TypeClaims).
func (h *Hub) SetAside(m feedwire.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m.Seq = h.head
	data := encode(m).data
	if h.asides == nil {
		h.asides = make(map[string][]byte)
	}
	h.asides[m.Type] = data
	for c := range h.clients {
		if !c.push(data) {
			h.drop(c, feedwire.ReasonSlow)
			h.opts.Metrics.SlowClient()
		}
	}
}

// statusLocked is the status message of the hub's trouble; h.mu is held.
func (h *Hub) statusLocked() entry {
	return encode(feedwire.Message{Type: feedwire.TypeStatus, Seq: h.head, Now: time.Now().UTC(), Trouble: h.trouble})
}

// Reset empties the ring and declares that it holds every change after
// base. The view calls it when it starts, with the sequence its loaded state
// already reflects.
func (h *Hub) Reset(base uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ring = h.ring[:0]
	h.base, h.head = base, base
}

// Publish hands the hub the changes the event at seq produced (possibly
// none: the hub still learns that seq was applied). Calls must come in
// sequence order.
func (h *Hub) Publish(seq uint64, msgs []feedwire.Message) {
	encoded := make([]entry, 0, len(msgs))
	var removed []string
	masking := h.maskOn.Load()
	for _, m := range msgs {
		data, err := feedwire.Encode(m)
		if err != nil {
			h.opts.Logger.Error("feed: encode message", "seq", seq, "err", err)
			continue
		}
		e := entry{seq: seq, data: data, callID: m.CallID}
		if m.Call != nil {
			e.callID = m.Call.ID
			if e.external = privacy.Needed(*m.Call); e.external && masking {
				e.masked = encodeMasked(m)
			}
		}
		if m.Type == feedwire.TypeRemoved {
			removed = append(removed, m.CallID)
		}
		encoded = append(encoded, e)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if seq <= h.head {
		return
	}
	h.head = seq
	close(h.moved)
	h.moved = make(chan struct{})
	for _, id := range removed {
		h.scrub(id)
	}
	for _, e := range encoded {
		h.append(e)
		for c := range h.clients {
			if c.enqueue(e) {
				continue
			}
			h.drop(c, feedwire.ReasonSlow)
			h.opts.Metrics.SlowClient()
		}
	}
}

func (h *Hub) append(e entry) {
	if len(h.ring) >= h.opts.RingSize || h.size+e.bytes() > h.opts.RingBytes {
		h.trim(e)
	}
	h.ring = append(h.ring, e)
	h.size += e.bytes()
}

// bytes is the memory the entry's encodings hold.
func (e entry) bytes() int { return len(e.data) + len(e.masked) }

// SetMasking turns masking on or off for redacted consoles. Those open
// are closed, with a reason that asks them to reconnect: they come back
// to a snapshot of the view as they may now read it.
func (h *Hub) SetMasking(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.masking == on {
		return
	}
	h.masking = on
	h.maskOn.Store(on)
	h.redactBase = h.head
	for c := range h.clients {
		if c.redactable {
			h.drop(c, feedwire.ReasonRefresh)
		}
	}
}

// trim drops the oldest quarter of the ring, or more, until e fits; the
// ring then resumes from a later sequence. h.mu is held.
func (h *Hub) trim(e entry) {
	drop, freed := max(1, len(h.ring)/4), 0
	for i := range drop {
		freed += h.ring[i].bytes()
	}
	for drop < len(h.ring) && h.size-freed+e.bytes() > h.opts.RingBytes {
		freed += h.ring[drop].bytes()
		drop++
	}
	if drop > len(h.ring) || len(h.ring) == 0 {
		return
	}
	h.base = h.ring[drop-1].seq
	clear(h.ring[:drop])
	h.ring = append(h.ring[:0], h.ring[drop:]...)
	h.size -= freed
}

// scrub removes a deleted conversation's changes from the ring, so that
// no resume replays them: after a deletion the feed carries nothing of the
// call but its removal. h.mu is held.
func (h *Hub) scrub(callID string) {
	kept := h.ring[:0]
	for _, e := range h.ring {
		if e.callID == callID {
			h.size -= e.bytes()
			continue
		}
		kept = append(kept, e)
	}
	clear(h.ring[len(kept):])
	h.ring = kept
}

// Head is the last sequence the hub has published.
func (h *Hub) Head() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.head
}

// subscribe registers c and queues what it needs first: the changes after
// since when the ring covers them, otherwise a snapshot, then the server's
// trouble if it has one. It returns why c may not subscribe, or "".
//
// The snapshot is taken without the hub's lock, so publishing goes on while
// it is built: the changes the ring gained meanwhile are queued after it.
func (h *Hub) subscribe(ctx context.Context, c *client, since uint64, resume bool) string {
	if resume {
		h.waitHead(ctx, since)
	}
	for attempt := 0; attempt < 2; attempt++ {
		var snap *snapshot
		masked := h.masks(c)
		if !resume || !h.canResume(c, since) {
			if reason := h.refusal(c); reason != "" {
				return reason
			}
			snap = h.snapshotFor(masked)
		}
		if snap != nil {
			snap.masked = masked
		}
		if reason, retry := h.register(c, since, snap, false); !retry {
			return reason
		}
	}
	// The ring kept moving past the snapshots taken: take one under the
	// lock, which holds publication still.
	reason, _ := h.register(c, since, nil, true)
	return reason
}

// waitHead waits, up to resumeWait, for the hub to reach since: a console
// coming from a replica a little ahead resumes here instead of taking an
// older snapshot.
func (h *Hub) waitHead(ctx context.Context, since uint64) {
	timeout := time.NewTimer(resumeWait)
	defer timeout.Stop()
	for {
		h.mu.Lock()
		head, moved, ready := h.head, h.moved, h.ready
		h.mu.Unlock()
		if since <= head || !ready {
			return
		}
		select {
		case <-moved:
		case <-timeout.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// canResume reports whether the ring holds every change after since, as
// c may read it.
func (h *Hub) canResume(c *client, since uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.resumableLocked(c, since)
}

// resumableLocked reports whether c may resume after since; h.mu is held.
// A redacted console holding a view from before masking last changed may
// not: what it holds is not what it may now read.
func (h *Hub) resumableLocked(c *client, since uint64) bool {
	if c.redactable && since <= h.redactBase {
		return false
	}
	return since >= h.base && since <= h.head && h.fitsLocked(since)
}

// fitsLocked reports whether the ring's changes after since fit in a
// client's queue, by count and by bytes, beside what a feed opens with (a
// sixteenth of the queue is left for the resume, status, presence and
// claims): a replay cut short would leave a console a gap, so one that
// does not fit is a snapshot instead. h.mu is held.
func (h *Hub) fitsLocked(since uint64) bool {
	n := h.missed(since)
	if n > h.opts.QueueLimit-max(1, h.opts.QueueLimit/16) {
		return false
	}
	size := 0
	for _, e := range h.ring[len(h.ring)-n:] {
		size += max(len(e.data), len(e.masked))
	}
	return size <= h.opts.QueueBytes-h.opts.QueueBytes/16
}

// masks reports whether c reads external parties masked now.
func (h *Hub) masks(c *client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return c.redactable && h.masking
}

// refusal says why c may not subscribe now, or "".
func (h *Hub) refusal(c *client) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.refusalLocked(c)
}

func (h *Hub) refusalLocked(c *client) string {
	switch {
	case h.closed:
		return feedwire.ReasonShutdown
	case !h.ready:
		return feedwire.ReasonStarting
	}
	if _, ok := h.ended[c.session]; ok && c.session != "" {
		return feedwire.ReasonLoggedOut
	}
	return ""
}

// register adds c under the lock, opening with snap, or a resume when snap
// is nil, or a snapshot taken under the lock when locked is set; then the
// ring's changes after it. retry asks for another snapshot: the ring moved
// past the one taken.
func (h *Hub) register(c *client, since uint64, snap *snapshot, locked bool) (reason string, retry bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if reason := h.refusalLocked(c); reason != "" {
		return reason, false
	}
	resumable := h.resumableLocked(c, since)
	c.masked = c.redactable && h.masking
	switch {
	case locked && resumable:
		snap = nil
	case locked:
		snap = h.snapshotFor(c.masked)
		snap.masked = c.masked
	case snap != nil && snap.masked != c.masked:
		return "", true // masking changed meanwhile: take the snapshot again
	case snap == nil && !resumable:
		return "", true // the ring moved on meanwhile: take a snapshot
	case snap != nil && (snap.Seq < h.base || !h.fitsLocked(snap.Seq)):
		return "", true // too old to be followed by the ring
	}
	if snap == nil {
		c.after = since
		c.push(encode(feedwire.Message{Type: feedwire.TypeResume, Seq: since, Now: time.Now().UTC(), Epoch: h.opts.Epoch}).data)
	} else {
		c.after = snap.Seq
		c.open(snap.opening(h.opts.Epoch))
	}
	for _, e := range h.ring[len(h.ring)-h.missed(c.after):] {
		if !c.enqueue(e) {
			// It did not fit after all (fitsLocked leaves room for what
			// opens a feed). A gap is never an option: the console is
			// told it fell behind, and comes back for a snapshot.
			h.opts.Metrics.SlowClient()
			return feedwire.ReasonSlow, false
		}
	}
	if h.trouble != "" {
		c.push(h.statusLocked().data)
	}
	for _, data := range h.asides {
		c.push(data)
	}
	h.clients[c] = struct{}{}
	h.opts.Metrics.FeedClient(1)
	return "", false
}

// missed is how many ring entries come after since. h.mu is held.
func (h *Hub) missed(since uint64) int {
	i := sort.Search(len(h.ring), func(i int) bool { return h.ring[i].seq > since })
	return len(h.ring) - i
}

func encode(m feedwire.Message) entry {
	data, _ := json.Marshal(m) // feedwire messages always encode
	return entry{seq: m.Seq, data: data}
}

func (h *Hub) unsubscribe(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		h.opts.Metrics.FeedClient(-1)
	}
}

// drop removes c and tells its writer to close with reason. h.mu is held.
func (h *Hub) drop(c *client, reason string) {
	delete(h.clients, c)
	h.opts.Metrics.FeedClient(-1)
	c.close(reason)
}

// endedMemory is how long an ended session is remembered: longer than any
// feed handshake takes.
const endedMemory = time.Minute

// admit reserves one of a session's feeds, or says why not.
func (h *Hub) admit(session string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if session != "" && h.sessions[session] >= h.opts.MaxPerSession {
		return feedwire.ReasonTooMany
	}
	h.sessions[session]++
	return ""
}

// leave gives a session's feed back.
func (h *Hub) leave(session string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sessions[session]--; h.sessions[session] <= 0 {
		delete(h.sessions, session)
	}
}

// CloseSession disconnects every feed of a session (after logout or
// expiry), and refuses the session's feeds still being opened.
func (h *Hub) CloseSession(sessionID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	for id, at := range h.ended {
		if now.Sub(at) > endedMemory {
			delete(h.ended, id)
		}
	}
	if sessionID != "" {
		h.ended[sessionID] = now
	}
	for c := range h.clients {
		if sessionID != "" && c.session == sessionID {
			h.drop(c, feedwire.ReasonLoggedOut)
		}
	}
}

// Shutdown disconnects every client with a reason that invites it to
// reconnect, and refuses new ones.
func (h *Hub) Shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.clients {
		h.drop(c, feedwire.ReasonShutdown)
	}
}

// Abandon drops every client at once, without a close frame, as a crash
// of the process would: clients see their connection cut. Tests use it to
// kill a replica; the hub refuses new clients afterwards.
func (h *Hub) Abandon() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.clients {
		delete(h.clients, c)
		h.opts.Metrics.FeedClient(-1)
		c.abandon()
	}
}

// Clients is the number of connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}
