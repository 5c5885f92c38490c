// Package notify receives Graph's change notifications for calls: it checks
// the request, decodes the commsNotifications envelope with every quirk real
// deliveries have, normalises each notification into a calls.Event, and
// answers 202 only once the events are safe in the durable log.
//
// Decoding is lenient where Graph (and Graph's own reference pages) are
// inconsistent: the envelope's @odata.type with or without its leading '#',
// resultInfo codes as numbers or strings, subcode spelled subCode, the
// legacy resource path, call ids in upper case or without dashes,
// participants with a null id, roster updates under …/operations, and the
// comments and trailing commas of documentation examples. It is strict
// where a mistake would lose information: an envelope that is not
// commsNotifications, a notification without a call id, a call resource
// whose fields have the wrong types.
//
// Every notification about a call is kept: the call itself (state, parties,
// result, terminationReason, tones, media state), its roster, and the
// outcomes of its operations. Operations never end a call, even when Graph
// notifies them as deleted.
package notify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"switchboard/app/calls"
)

// EnvelopeType is the @odata.type of the body Graph posts for calls. Earlier
// reference pages spell it without the leading '#'; both are accepted.
const EnvelopeType = "#microsoft.graph.commsNotifications"

// Item is one decoded notification about one call.
type Item struct {
	// CallID is the call the notification is about.
	CallID string
	// Change is the normalised content.
	Change calls.Change
	// ID identifies the notification's content; a redelivery has the same ID,
	// so the log can drop it.
	ID string
}

// DecodeError says what is wrong with a notification body. Its message is
// safe to return to the sender.
type DecodeError struct{ msg string }

func (e *DecodeError) Error() string { return e.msg }

func badf(format string, args ...any) error {
	return &DecodeError{msg: fmt.Sprintf(format, args...)}
}

type envelope struct {
	ODataType string            `json:"@odata.type"`
	Value     []json.RawMessage `json:"value"`
}

type notification struct {
	ChangeType   string          `json:"changeType"`
	ResourceURL  string          `json:"resourceUrl"`
	Resource     string          `json:"resource"`
	ResourceData json.RawMessage `json:"resourceData"`
}

// isEnvelopeType reports whether t names commsNotifications, with or
// without the leading '#', in any case.
func isEnvelopeType(t string) bool {
	return strings.EqualFold(strings.TrimPrefix(strings.TrimSpace(t), "#"), strings.TrimPrefix(EnvelopeType, "#"))
}

// Decode parses a commsNotifications body. Notifications about resources
// other than calls, their participants and their operations (content
// sharing sessions, for example) are skipped, not refused.
func Decode(body []byte) ([]Item, error) {
	var env envelope
	if err := strictObject(body, &env); err != nil {
		relaxed, changed := relax(body)
		if !changed || strictObject(relaxed, &env) != nil {
			return nil, badf("body is not a JSON object: %v", err)
		}
	}
	if env.ODataType != "" && !isEnvelopeType(env.ODataType) {
		return nil, badf("body is %q, not %s", env.ODataType, EnvelopeType)
	}
	if env.Value == nil {
		return nil, badf("body has no \"value\" array of notifications")
	}
	items := make([]Item, 0, len(env.Value))
	for i, raw := range env.Value {
		item, ok, err := decodeNotification(raw)
		if err != nil {
			return nil, badf("notification %d: %v", i, err)
		}
		if ok {
			items = append(items, item)
		}
	}
	return items, nil
}

// strictObject decodes a JSON object and refuses trailing data.
// Unmarshal takes exactly one value, so what it takes a decoder would take
// as well, with nothing after it; only what it refuses goes through a
// decoder, which copies the body into a buffer of its own (on every
// notification, a twentieth of what the server allocated under load), to
// say why.
func strictObject(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return errors.New("expected '{'")
	}
	if json.Unmarshal(data, v) == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON object")
	}
	return nil
}

func decodeNotification(raw json.RawMessage) (Item, bool, error) {
	var n notification
	if err := strictObject(raw, &n); err != nil {
		return Item{}, false, fmt.Errorf("not a JSON object: %v", err)
	}
	changeType := strings.ToLower(strings.TrimSpace(n.ChangeType))
	switch changeType {
	case "created", "updated", "deleted":
	case "":
		return Item{}, false, errors.New("changeType is missing")
	default:
		return Item{}, false, fmt.Errorf("changeType %q is not created, updated or deleted", n.ChangeType)
	}
	path := n.ResourceURL
	if path == "" {
		path = n.Resource
	}
	if path == "" {
		return Item{}, false, errors.New("resourceUrl (or resource) is missing")
	}
	res, err := parseResource(path)
	if err != nil {
		return Item{}, false, err
	}
	sum := sha256.Sum256(raw)
	item := Item{CallID: res.callID, ID: hex.EncodeToString(sum[:16])}
	item.Change.ChangeType = changeType
	switch {
	case res.sub == "":
		item.Change.Resource = calls.ResourceCall
		err = decodeCall(n.ResourceData, &item.Change)
	case res.sub == "participants":
		item.Change.Resource = calls.ResourceParticipants
		err = decodeRoster(n.ResourceData, changeType, res.rest, &item.Change)
	case res.sub == "operations" && isArray(n.ResourceData):
		// Some reference pages notify roster updates under …/operations/participants.
		item.Change.Resource = calls.ResourceParticipants
		err = decodeRoster(n.ResourceData, changeType, "", &item.Change)
	case res.sub == "operations":
		item.Change.Resource = calls.ResourceOperation
		item.Change.Operation, err = decodeOperation(n.ResourceData, changeType, res.rest)
	default:
		return Item{}, false, nil // content sharing sessions, audio routing groups…
	}
	if err != nil {
		return Item{}, false, err
	}
	return item, true, nil
}

// resource is a parsed resource path.
type resource struct {
	callID string
	// sub is the sub-resource after the call id: "", "participants",
	// "operations", …; rest is the segment after it (a participant or
	// operation id), if any.
	sub, rest string
}

// parseResource reads /communications/calls/{id}[/sub[/rest]], the legacy
// /app/calls/{id} and /applications/{appId}/calls/{id}, optionally under
// /v1.0 or /beta, or a whole URL of one of those.
func parseResource(path string) (resource, error) {
	p := strings.TrimSpace(path)
	if strings.Contains(p, "://") {
		if u, err := url.Parse(p); err == nil {
			p = u.Path
		}
	}
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	for len(parts) > 0 && (parts[0] == "v1.0" || parts[0] == "beta") {
		parts = parts[1:]
	}
	if len(parts) >= 4 && parts[0] == "applications" && parts[2] == "calls" {
		parts = append([]string{"app"}, parts[2:]...)
	}
	if len(parts) < 3 || (parts[0] != "communications" && parts[0] != "app") || parts[1] != "calls" {
		return resource{}, fmt.Errorf("resource %q is not a call (/communications/calls/{id})", path)
	}
	id := parts[2]
	if unescaped, err := url.PathUnescape(id); err == nil {
		id = unescaped
	}
	if id == "" || len(id) > 256 || strings.ContainsAny(id, " \t\r\n") || id == "." || id == ".." {
		return resource{}, fmt.Errorf("resource %q has no valid call id", path)
	}
	r := resource{callID: calls.CanonicalID(id)}
	if len(parts) > 3 {
		r.sub = strings.ToLower(parts[3])
	}
	if len(parts) > 4 {
		r.rest = parts[4]
	}
	return r, nil
}

// isArray reports whether data is a JSON array.
func isArray(data json.RawMessage) bool {
	data = bytes.TrimSpace(data)
	return len(data) > 0 && data[0] == '['
}

// isNull reports whether data is absent or JSON null.
func isNull(data json.RawMessage) bool {
	data = bytes.TrimSpace(data)
	return len(data) == 0 || string(data) == "null"
}
