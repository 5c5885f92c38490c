package notify

import (
	"encoding/json"
	"fmt"
	"strings"

	"switchboard/app/calls"
)

// operation is Graph's commsOperation and the kinds derived from it
// (recordOperation, playPromptOperation, inviteParticipantsOperation…),
// as far as a console tells their outcome.
type operation struct {
	ODataType        string            `json:"@odata.type"`
	ID               *string           `json:"id"`
	Status           string            `json:"status"`
	ResultInfo       *resultInfo       `json:"resultInfo"`
	CompletionReason string            `json:"completionReason"`
	Participants     []participantInfo `json:"participants"`
}

// decodeOperation reads an operation notification. Its changeType deleted
// means the operation is over, never that the call is.
func decodeOperation(data json.RawMessage, changeType, operationID string) (*calls.Operation, error) {
	op := &calls.Operation{ID: operationID, Deleted: changeType == "deleted", Kind: "comms"}
	if isNull(data) {
		return op, nil
	}
	var o operation
	if err := strictObject(data, &o); err != nil {
		return nil, fmt.Errorf("resourceData is not an operation: %v", err)
	}
	if o.ID != nil && *o.ID != "" {
		op.ID = *o.ID
	}
	if k := operationKind(o.ODataType); k != "" {
		op.Kind = k
	}
	op.Status = normaliseStatus(o.Status)
	op.Result = o.ResultInfo.result()
	op.CompletionReason = o.CompletionReason
	for _, p := range o.Participants {
		if party := p.party(); party != (calls.Party{}) {
			op.Participants = append(op.Participants, party)
		}
	}
	return op, nil
}

// operationKind turns "#microsoft.graph.recordOperation" into "record".
func operationKind(odataType string) string {
	t := strings.TrimPrefix(strings.TrimSpace(odataType), "#")
	t = t[strings.LastIndex(t, ".")+1:]
	return strings.TrimSuffix(t, "Operation")
}

// normaliseStatus spells operationStatus as Graph documents it (some
// responses capitalise it: "Running").
func normaliseStatus(s string) string {
	for _, known := range []string{"notStarted", "running", "completed", "failed"} {
		if strings.EqualFold(s, known) {
			return known
		}
	}
	return s
}
