package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"switchboard/app/feedwire"
)

// feedMessage is the part of a feed message the load clients need: the
// type, the sequence and, for call messages, the call's id and subject.
// CallID and Subject alias the frame they were scanned from.
type feedMessage struct {
	Type    string
	Seq     uint64
	CallID  []byte
	Subject []byte
}

// scanMessage reads one line of a feed frame (one JSON message).
//
// A thousand clients on a shared 2-core machine cannot afford to decode
// every call in full, so scanMessage first tries a fast path that relies on
// the field order encoding/json gives feedwire.Message and calls.Call
// ({"type":…,"seq":…,"call":{"id":…,…,"subject":…}}). Whatever the fast
// path does not recognise is decoded with encoding/json, so an unexpected
// but valid message is still read correctly, only slower.
func scanMessage(line []byte) (feedMessage, error) {
	if m, ok := scanFast(line); ok {
		return m, nil
	}
	return scanSlow(line)
}

var (
	prefixType    = []byte(`{"type":"`)
	prefixSeq     = []byte(`","seq":`)
	prefixCall    = []byte(`,"call":{"id":"`)
	prefixSubject = []byte(`"subject":"`)
)

// scanFast is the field-order fast path; ok is false when the line does
// not have the expected shape.
func scanFast(line []byte) (m feedMessage, ok bool) {
	rest, ok := bytes.CutPrefix(line, prefixType)
	if !ok {
		return m, false
	}
	i := bytes.IndexByte(rest, '"')
	if i <= 0 {
		return m, false
	}
	m.Type = internType(rest[:i])
	if rest, ok = bytes.CutPrefix(rest[i:], prefixSeq); !ok {
		return m, false
	}
	if m.Seq, rest, ok = cutUint(rest); !ok {
		return m, false
	}
	if m.Type != feedwire.TypeCall {
		return m, true
	}
	if rest, ok = bytes.CutPrefix(rest, prefixCall); !ok {
		return m, false
	}
	if m.CallID, rest, ok = cutPlainString(rest); !ok {
		return m, false
	}
	// "subject":" can only be a key: inside a JSON string every quote is
	// escaped, and no object nested in a call has a subject.
	i = bytes.Index(rest, prefixSubject)
	if i < 0 {
		return m, true // the call has no subject
	}
	m.Subject, _, ok = cutPlainString(rest[i+len(prefixSubject):])
	return m, ok
}

// internType returns the constant for a known message type, so the fast
// path allocates nothing for them.
func internType(b []byte) string {
	for _, t := range []string{feedwire.TypeCall, feedwire.TypeSnapshot, feedwire.TypeResume, feedwire.TypeRemoved} {
		if string(b) == t {
			return t
		}
	}
	return string(b)
}

// cutUint reads the decimal digits at the start of b.
func cutUint(b []byte) (n uint64, rest []byte, ok bool) {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == 0 || i > 19 {
		return 0, b, false
	}
	n, err := strconv.ParseUint(string(b[:i]), 10, 64)
	return n, b[i:], err == nil
}

// cutPlainString reads a JSON string body up to its closing quote; ok is
// false when the string holds an escape (the slow path decodes it).
func cutPlainString(b []byte) (s, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '"')
	if i < 0 || bytes.IndexByte(b[:i], '\\') >= 0 {
		return nil, b, false
	}
	return b[:i], b[i+1:], true
}

// scanSlow decodes the message with encoding/json.
func scanSlow(line []byte) (feedMessage, error) {
	var w struct {
		Type string `json:"type"`
		Seq  uint64 `json:"seq"`
		Call *struct {
			ID      string `json:"id"`
			Subject string `json:"subject"`
		} `json:"call"`
	}
	if err := json.Unmarshal(line, &w); err != nil {
		return feedMessage{}, fmt.Errorf("decode feed message: %w", err)
	}
	if w.Type == "" {
		return feedMessage{}, errors.New("decode feed message: no type")
	}
	m := feedMessage{Type: w.Type, Seq: w.Seq}
	if w.Call != nil {
		m.CallID, m.Subject = []byte(w.Call.ID), []byte(w.Call.Subject)
	}
	return m, nil
}
