package liveview

import (
	"encoding/json"
	"sync"

	"switchboard/app/calls"
	"switchboard/app/privacy"
)

// maskedCache keeps the last masked snapshot: viewers' consoles share it
// while the view does not change, as other consoles share EncodedSnapshot.
type maskedCache struct {
	mu      sync.Mutex
	version uint64
	seq     uint64
	data    []byte
}

// MaskedSnapshot is EncodedSnapshot with every call's external parties
// masked (package privacy), for the consoles of viewers while masking is
// on. It is built once per version of the view, and the same slice is
// handed to every caller of that version; nobody may change it.
func (v *View) MaskedSnapshot() (seq uint64, list []byte, version uint64) {
	v.masked.mu.Lock()
	defer v.masked.mu.Unlock()
	m, version := v.VersionedSnapshot()
	if v.masked.data != nil && v.masked.version == version {
		return v.masked.seq, v.masked.data, version
	}
	out := make([]calls.Call, len(m.Calls))
	for i, c := range m.Calls {
		out[i] = privacy.Call(c)
	}
	data, err := json.Marshal(out)
	if err != nil {
		v.opts.Logger.Error("live view: encode a masked snapshot", "err", err)
		data = []byte("[]")
	}
	v.masked.version, v.masked.seq, v.masked.data = version, m.Seq, data
	return m.Seq, data, version
}
