package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
)

// Answer answers an incoming call with service-hosted media, accepting the
// given modalities (default ["audio"]; Graph knows "audio", "video",
// "videoBasedScreenSharing", "data" and "unknown", matched regardless of
// case). Graph requires Config.CallbackURI for it. Graph ends an incoming
// call that is not answered, rejected or redirected within 15 seconds.
//
// Answer is not retried after a network failure: Graph may have answered.
func (c *Client) Answer(ctx context.Context, callID string, modalities []string) error {
	const name = "answer"
	if err := checkCallID(name, callID); err != nil {
		return err
	}
	if c.callbackURI == "" {
		return fmt.Errorf("graph: %s call %s: Config.CallbackURI is required to answer", name, callID)
	}
	accepted, err := canonicalModalities(modalities)
	if err != nil {
		return fmt.Errorf("graph: %s call %s: %w", name, callID, err)
	}
	body := answerBody{
		CallbackURI:        c.callbackURI,
		AcceptedModalities: accepted,
		MediaConfig:        mediaConfig{ODataType: "#microsoft.graph.serviceHostedMediaConfig"},
	}
	return c.post(ctx, name, callID, c.action("answer"), body)
}

// Reject rejects an incoming call. The reason is "none", "busy" or
// "forbidden"; Graph's documentation capitalises them, so any case is
// accepted and lowercase is sent. Another reason is an error, and no
// request is made. Reject does not end a call already answered: use HangUp.
func (c *Client) Reject(ctx context.Context, callID, reason string) error {
	const name = "reject"
	if err := checkCallID(name, callID); err != nil {
		return err
	}
	r := strings.ToLower(reason)
	switch r {
	case "none", "busy", "forbidden":
	default:
		return fmt.Errorf("graph: %s call %s: reason %q is not one of none, busy, forbidden", name, callID, reason)
	}
	return c.post(ctx, name, callID, c.action("reject"), rejectBody{Reason: r, CallbackURI: c.callbackURI})
}

// Redirect hands an incoming call over to one or more targets, instead of
// answering it. At least one target is required.
//
// Redirect is not retried after a network failure: Graph may have acted.
func (c *Client) Redirect(ctx context.Context, callID string, targets ...Target) error {
	const name = "redirect"
	if err := checkCallID(name, callID); err != nil {
		return err
	}
	if len(targets) == 0 {
		return fmt.Errorf("graph: %s call %s: no targets", name, callID)
	}
	body := redirectBody{CallbackURI: c.callbackURI}
	for i, t := range targets {
		p, err := t.participant()
		if err != nil {
			return fmt.Errorf("graph: %s call %s: target %d: %w", name, callID, i, err)
		}
		body.Targets = append(body.Targets, p)
	}
	return c.post(ctx, name, callID, c.action("redirect"), body)
}

// Transfer hands an established call over to target (POST …/transfer, 202).
// Graph then notifies transferring, transferAccepted and, once the target
// took the call, deleted with 0/7015 (or a terminationReason such as
// AppTransferred); a transfer that fails returns the call to established
// with 500/7000 (500/7700 for a consultative transfer).
//
// Transfer is not retried after a network failure: Graph may have acted.
func (c *Client) Transfer(ctx context.Context, callID string, target Target) error {
	const name = "transfer"
	if err := checkCallID(name, callID); err != nil {
		return err
	}
	p, err := target.participant()
	if err != nil {
		return fmt.Errorf("graph: %s call %s: target: %w", name, callID, err)
	}
	p.EndpointType = "default"
	return c.post(ctx, name, callID, c.action("transfer"), transferBody{TransferTarget: p})
}

// MuteParticipant mutes one participant of a group call (POST
// …/participants/{participantId}/mute, 200 with a muteParticipantOperation).
// Graph then sends every participant a roster update showing the
// participant muted. Graph supports it for group calls only.
func (c *Client) MuteParticipant(ctx context.Context, callID, participantID string) error {
	const name = "mute"
	if err := checkCallID(name, callID); err != nil {
		return err
	}
	if err := checkCallID(name, participantID); err != nil {
		return fmt.Errorf("graph: %s call %s: participant: %w", name, callID, err)
	}
	action := "participants/" + url.PathEscape(participantID) + "/" + c.action("mute")
	return c.post(ctx, name, callID, action, muteBody{ClientContext: newUUID()})
}

// action is an action's path segment, qualified when the Client is
// configured to (microsoft.graph.answer).
func (c *Client) action(name string) string {
	if c.qualified {
		return "microsoft.graph." + name
	}
	return name
}

// HangUp ends the bot's leg of a call (DELETE /communications/calls/{id}).
// Graph then notifies "terminating", and "terminated" with the reason.
// A call that is already gone gives an error for which IsNotFound is true.
func (c *Client) HangUp(ctx context.Context, callID string) error {
	const name = "hangup"
	if err := checkCallID(name, callID); err != nil {
		return err
	}
	_, err := c.do(ctx, &op{name: name, method: http.MethodDelete, callID: callID, idempotent: true})
	return err
}

// KeepAlive tells Graph the bot still handles an established call. Graph
// ends calls that go without it for 45 minutes (408/8537); send it every
// 15 to 45 minutes. On an ended call it fails with IsNotFound true.
func (c *Client) KeepAlive(ctx context.Context, callID string) error {
	const name = "keepalive"
	if err := checkCallID(name, callID); err != nil {
		return err
	}
	_, err := c.do(ctx, &op{name: name, method: http.MethodPost, callID: callID,
		action: c.action("keepAlive"), idempotent: true})
	return err
}

// Get reads the call resource as Graph returns it, undecoded, for the
// caller to decode what it needs. Graph keeps no list of live calls, so
// Get is how a call with no recent news is confirmed: IsNotFound on the
// error means the call has ended.
func (c *Client) Get(ctx context.Context, callID string) (json.RawMessage, error) {
	const name = "get"
	if err := checkCallID(name, callID); err != nil {
		return nil, err
	}
	body, err := c.do(ctx, &op{name: name, method: http.MethodGet, callID: callID, idempotent: true})
	if err != nil {
		return nil, err
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("graph: %s call %s: response is not JSON: %q", name, callID, snippet(body, maxErrorSnippet))
	}
	return json.RawMessage(body), nil
}

// post sends a non-idempotent action with a JSON body.
func (c *Client) post(ctx context.Context, name, callID, action string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("graph: %s call %s: encode request: %w", name, callID, err)
	}
	_, err = c.do(ctx, &op{name: name, method: http.MethodPost, callID: callID, action: action, body: b})
	return err
}

// checkCallID rejects ids that are empty, contain control characters, or
// are path segments of their own ("." and ".."), before any request.
func checkCallID(name, callID string) error {
	switch {
	case callID == "":
		return fmt.Errorf("graph: %s: empty call id", name)
	case callID == "." || callID == "..":
		return fmt.Errorf("graph: %s: invalid call id %q", name, callID)
	case strings.ContainsFunc(callID, unicode.IsControl):
		return fmt.Errorf("graph: %s: call id %q contains control characters", name, callID)
	}
	return nil
}

// knownModalities lists Graph's modality names as Graph spells them.
func knownModalities() []string {
	return []string{"unknown", "audio", "video", "videoBasedScreenSharing", "data"}
}

// canonicalModalities spells ms as Graph does; empty means audio only.
func canonicalModalities(ms []string) ([]string, error) {
	if len(ms) == 0 {
		return []string{"audio"}, nil
	}
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		i := slices.IndexFunc(knownModalities(), func(k string) bool { return strings.EqualFold(k, m) })
		if i < 0 {
			return nil, fmt.Errorf("unknown modality %q (want %s)", m, strings.Join(knownModalities(), ", "))
		}
		out = append(out, knownModalities()[i])
	}
	return out, nil
}

// TargetKind says what kind of identity a redirect or transfer Target is.
type TargetKind string

// The kinds of redirect targets.
const (
	TargetUser        TargetKind = "user"        // a Teams user, by Entra object id
	TargetApplication TargetKind = "application" // another bot, by application id
	TargetPhone       TargetKind = "phone"       // a phone number, in E.164 form (+14255550100)
)

// Target is a party a call is redirected or transferred to.
type Target struct {
	Kind        TargetKind
	ID          string // object id, application id, or phone number
	DisplayName string // optional
	TenantID    string // optional: the tenant of a user or application from another tenant
}

// participant returns t as Graph's invitationParticipantInfo.
func (t Target) participant() (invitationParticipant, error) {
	if t.ID == "" {
		return invitationParticipant{}, errors.New("empty id")
	}
	id := &identity{ODataType: "#microsoft.graph.identity", ID: t.ID,
		DisplayName: t.DisplayName, TenantID: t.TenantID}
	set := identitySet{ODataType: "#microsoft.graph.identitySet"}
	switch t.Kind {
	case TargetUser:
		set.User = id
	case TargetApplication:
		set.Application = id
	case TargetPhone:
		if !isE164(t.ID) {
			return invitationParticipant{}, fmt.Errorf("phone number %q is not in E.164 form (+ and up to 15 digits)", t.ID)
		}
		set.Phone = id
	default:
		return invitationParticipant{}, fmt.Errorf("unknown kind %q (want user, application or phone)", t.Kind)
	}
	return invitationParticipant{ODataType: "#microsoft.graph.invitationParticipantInfo", Identity: set}, nil
}

// isE164 reports whether s is "+" followed by 1 to 15 digits.
func isE164(s string) bool {
	digits, ok := strings.CutPrefix(s, "+")
	if !ok || len(digits) == 0 || len(digits) > 15 {
		return false
	}
	return !strings.ContainsFunc(digits, func(r rune) bool { return r < '0' || r > '9' })
}

// Request bodies, as Graph's documentation spells them.
type (
	answerBody struct {
		CallbackURI        string      `json:"callbackUri"`
		AcceptedModalities []string    `json:"acceptedModalities"`
		MediaConfig        mediaConfig `json:"mediaConfig"`
	}
	mediaConfig struct {
		ODataType string `json:"@odata.type"`
	}
	rejectBody struct {
		Reason      string `json:"reason"`
		CallbackURI string `json:"callbackUri,omitempty"`
	}
	redirectBody struct {
		Targets     []invitationParticipant `json:"targets"`
		CallbackURI string                  `json:"callbackUri,omitempty"`
	}
	invitationParticipant struct {
		ODataType    string      `json:"@odata.type"`
		EndpointType string      `json:"endpointType,omitempty"`
		Identity     identitySet `json:"identity"`
	}
	transferBody struct {
		TransferTarget invitationParticipant `json:"transferTarget"`
	}
	muteBody struct {
		ClientContext string `json:"clientContext"`
	}
	identitySet struct {
		ODataType   string    `json:"@odata.type"`
		User        *identity `json:"user,omitempty"`
		Application *identity `json:"application,omitempty"`
		Phone       *identity `json:"phone,omitempty"`
	}
	identity struct {
		ODataType   string `json:"@odata.type"`
		ID          string `json:"id"`
		DisplayName string `json:"displayName,omitempty"`
		TenantID    string `json:"tenantId,omitempty"`
	}
)
