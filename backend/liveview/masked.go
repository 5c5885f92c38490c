package liveview

import (
	"encoding/json"
	"sync"

	"switchboard/app/privacy"
)

// maskedCache keeps the last masked snapshot: viewers' consoles share it
// while the view does not change, as other consoles share EncodedSnapshot.
type maskedCache struct {
	mu      sync.Mutex
	version uint64
	seq     uint64
	calls   [][]byte
}

// MaskedSnapshot is EncodedSnapshot with every call's external parties
// masked (package privacy), for the consoles of viewers while masking is
// on. It is built once per version of the view, and the same list is
// handed to every caller of that version; nobody may change it.
func (v *View) MaskedSnapshot() (seq uint64, list [][]byte, version uint64) {
	v.masked.mu.Lock()
	defer v.masked.mu.Unlock()
	m, version := v.VersionedSnapshot()
	if v.masked.calls != nil && v.masked.version == version {
		return v.masked.seq, v.masked.calls, version
	}
	list = make([][]byte, 0, len(m.Calls))
	for _, c := range m.Calls {
		data, err := json.Marshal(privacy.Call(c))
		if err != nil {
			v.opts.Logger.Error("live view: encode a masked call for a snapshot", "call", c.ID, "err", err)
			continue
		}
		list = append(list, data)
	}
	v.masked.version, v.masked.seq, v.masked.calls = version, m.Seq, list
	return m.Seq, list, version
}
