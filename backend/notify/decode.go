// Package notify receives Graph's change notifications for calls: it checks
// the request, decodes the commsNotifications envelope with every quirk real
// deliveries have, normalises each notification into a calls.Event, and
// answers 202 only once the events are safe in the durable log.
//
// Decoding is lenient where Graph is inconsistent (resultInfo codes as
// numbers or strings, subcode spelled subCode, the legacy resource path) and
// strict where a mistake would lose information (an envelope that is not
// commsNotifications, a notification without a call id).
package notify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"switchboard/app/calls"
)

// EnvelopeType is the @odata.type of the body Graph posts for calls.
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

// Decode parses a commsNotifications body. Notifications about resources
// other than calls and their participants (operations, for example) are
// skipped, not refused.
func Decode(body []byte) ([]Item, error) {
	var env envelope
	if err := strictObject(body, &env); err != nil {
		return nil, badf("body is not a JSON object: %v", err)
	}
	if env.ODataType != "" && !strings.EqualFold(env.ODataType, EnvelopeType) {
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
func strictObject(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return errors.New("expected '{'")
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
	switch n.ChangeType {
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
	id, sub, err := parseResource(path)
	if err != nil {
		return Item{}, false, err
	}
	sum := sha256.Sum256(raw)
	item := Item{CallID: id, ID: hex.EncodeToString(sum[:16])}
	item.Change.ChangeType = n.ChangeType
	switch sub {
	case "":
		item.Change.Resource = calls.ResourceCall
		err = decodeCall(n.ResourceData, &item.Change)
	case "participants":
		item.Change.Resource = calls.ResourceParticipants
		item.Change.Participants, err = countParticipants(n.ResourceData)
	default:
		return Item{}, false, nil // operations and other sub-resources
	}
	if err != nil {
		return Item{}, false, err
	}
	return item, true, nil
}

// parseResource extracts the call id and sub-resource from
// /communications/calls/{id}[/sub/...] or the legacy /app/calls/{id}.
func parseResource(path string) (id, sub string, err error) {
	p := strings.Trim(path, "/")
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	parts := strings.Split(p, "/")
	for len(parts) > 0 && (parts[0] == "v1.0" || parts[0] == "beta") {
		parts = parts[1:]
	}
	if len(parts) < 3 || (parts[0] != "communications" && parts[0] != "app") || parts[1] != "calls" {
		return "", "", fmt.Errorf("resource %q is not a call (/communications/calls/{id})", path)
	}
	id = parts[2]
	if id == "" || len(id) > 256 || strings.ContainsAny(id, " \t\r\n") {
		return "", "", fmt.Errorf("resource %q has no valid call id", path)
	}
	if len(parts) > 3 {
		sub = parts[3]
	}
	return id, sub, nil
}

func countParticipants(data json.RawMessage) (int, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return -1, nil
	}
	var list []json.RawMessage
	if data[0] == '[' {
		if err := json.Unmarshal(data, &list); err != nil {
			return 0, fmt.Errorf("participants resourceData: %v", err)
		}
		return len(list), nil
	}
	// A single participant object: the roster size is unknown.
	return -1, nil
}

// diagCode finds "DiagCode: 500#7117" in resultInfo messages.
var diagCode = regexp.MustCompile(`DiagCode:\s*(\d+)#(\d+)`)

// codeNumber accepts a JSON number or a string holding one. Anything else
// is taken as "no code" rather than refusing the notification: the message
// still tells the supervisor something.
type codeNumber struct {
	n   int
	set bool
}

func (c *codeNumber) UnmarshalJSON(b []byte) error {
	n, err := strconv.Atoi(strings.Trim(string(b), `"`))
	if err == nil {
		c.n, c.set = n, true
	}
	return nil
}
