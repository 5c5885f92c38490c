package console

// A WebAssembly console runs the Go collector's marking on the page's only
// thread, to its end, in one task. With 50,000 calls, an entry per call
// holding a byte slice and three strings made that marking visit 200,000
// pointers, a task long enough to stall the page under load. So entries
// hold no pointer at all, and the collector skips them: their bytes live
// in slabs (a few large byte slices, each holding the bytes of many
// entries), and their state, direction and category are numbers into the
// store's table of names.
//
// A replaced or dropped entry leaves its bytes in its slab as garbage. A
// slab nobody uses any more is let go; one that holds less than a quarter
// of its bytes alive is compacted (its live entries move to the current
// slab) at the end of the next batch.

const slabSize = 1 << 20 // bytes per shared slab

// slab is one slab of entries' bytes.
type slab struct {
	data []byte // nil once let go
	used int    // bytes handed out
	live int    // bytes of entries still held
}

// slabs hands out and takes back entries' bytes.
type slabs struct {
	list   []slab
	free   []int32 // indexes of let-go slabs, to reuse
	cur    int32   // the slab handing out bytes, or -1
	sparse []int32 // slabs to compact
}

func newSlabs() slabs { return slabs{cur: -1} }

// place copies b into a slab and points e at the copy. An entry larger
// than a quarter of a slab gets a slab of its own.
func (sl *slabs) place(e *entry, b []byte) {
	n := len(b)
	var i int32
	switch {
	case n > slabSize/4:
		i = sl.grow(n)
	case sl.cur < 0 || sl.list[sl.cur].used+n > len(sl.list[sl.cur].data):
		sl.cur = sl.grow(slabSize)
		i = sl.cur
	default:
		i = sl.cur
	}
	s := &sl.list[i]
	copy(s.data[s.used:], b)
	e.slab, e.off, e.n = i, int32(s.used), int32(n)
	s.used += n
	s.live += n
}

// grow starts a slab of size bytes and returns its index.
func (sl *slabs) grow(size int) int32 {
	s := slab{data: make([]byte, size)}
	if n := len(sl.free); n > 0 {
		i := sl.free[n-1]
		sl.free = sl.free[:n-1]
		sl.list[i] = s
		return i
	}
	sl.list = append(sl.list, s)
	return int32(len(sl.list) - 1)
}

// bytes returns e's bytes; nobody may keep them past the next change.
func (sl *slabs) bytes(e *entry) []byte {
	return sl.list[e.slab].data[e.off : e.off+e.n : e.off+e.n]
}

// release takes back e's bytes: a slab nobody uses is let go, a sparse
// one is marked for compaction.
func (sl *slabs) release(e *entry) {
	if !e.held() {
		return
	}
	i := e.slab
	s := &sl.list[i]
	s.live -= int(e.n)
	switch {
	case i == sl.cur:
	case s.live == 0:
		sl.letGo(i)
	case s.live < len(s.data)/4:
		sl.sparse = append(sl.sparse, i) // compact repeats nothing
	}
}

func (sl *slabs) letGo(i int32) {
	sl.list[i] = slab{}
	sl.free = append(sl.free, i)
}

// compact moves the live entries of sparse slabs to the current one and
// lets those slabs go.
func (sl *slabs) compact(entries []entry) {
	if len(sl.sparse) == 0 {
		return
	}
	moving := make(map[int32]bool, len(sl.sparse))
	for _, i := range sl.sparse {
		if i != sl.cur && sl.list[i].data != nil && sl.list[i].live > 0 {
			moving[i] = true
		}
	}
	sl.sparse = sl.sparse[:0]
	if len(moving) == 0 {
		return
	}
	for k := range entries {
		e := &entries[k]
		if !e.held() || !moving[e.slab] {
			continue
		}
		b := sl.bytes(e)
		sl.list[e.slab].live -= len(b)
		sl.place(e, b)
	}
	for i := range moving {
		sl.letGo(i)
	}
}

// maxNames bounds a store's table of names: states, directions and
// categories are a handful, and a server sending endless new ones gets
// them shown as empty rather than filling the console's memory.
const maxNames = 1 << 12

// names numbers the strings entries name (state, direction, category),
// so that entries hold numbers, not strings. Number 0 is "".
type names struct {
	list  []string
	index map[string]uint16
}

func newNames() names { return names{list: []string{""}, index: map[string]uint16{"": 0}} }

// number returns v's number, giving it one if it has none.
func (n *names) number(v string) uint16 {
	if i, ok := n.index[v]; ok {
		return i
	}
	if len(n.list) >= maxNames {
		return 0
	}
	i := uint16(len(n.list))
	n.list = append(n.list, v)
	n.index[v] = i
	return i
}

// name returns the string numbered i.
func (n *names) name(i uint16) string { return n.list[i] }
