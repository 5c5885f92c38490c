package graphsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds the request bodies the Graph API reads.
const maxBody = 1 << 20

// apiHandler serves one Graph API route. It returns the status and the JSON
// body to answer with (nil for none), or an error: an *Error is written as
// Graph's error body, anything else as a 500.
type apiHandler func(r *http.Request, body []byte) (status int, resp any, err error)

// routeGraph registers the calls API under /v1.0 and /beta, on both the
// /communications/calls and the deprecated /app/calls paths.
func (s *Sim) routeGraph(mux *http.ServeMux) {
	for _, version := range []string{"v1.0", "beta"} {
		for _, calls := range []string{"communications", "app"} {
			prefix := "/" + version + "/" + calls + "/"
			mux.Handle(prefix, s.graphAPI(unknownSegment))
			mux.Handle("POST "+prefix+"calls", s.graphAPI(s.createCall))
			mux.Handle("GET "+prefix+"calls/{id}", s.graphAPI(s.getCall))
			mux.Handle("DELETE "+prefix+"calls/{id}", s.graphAPI(s.deleteCall))
			mux.Handle("POST "+prefix+"calls/{id}/{action}", s.graphAPI(s.postAction))
			mux.Handle("POST "+prefix+"calls/{id}/participants/{action}", s.graphAPI(s.postParticipantsAction))
			mux.Handle("POST "+prefix+"calls/{id}/participants/{participant}/{action}", s.graphAPI(s.postParticipantAction))
		}
		mux.Handle("GET /"+version+"/users/{user}", s.graphAPI(s.getUser))
	}
}

// graphAPI wraps h with what every Graph request goes through: request ids,
// the body limit, the access token, throttling and the request log.
func (s *Sim) graphAPI(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requestID := newUUID(mrand.Uint64(), mrand.Uint64())
		w.Header().Set("request-id", requestID)
		if cid := r.Header.Get("client-request-id"); cid != "" {
			w.Header().Set("client-request-id", cid)
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		status, resp := 0, any(nil)
		switch {
		case err != nil:
			err = &Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestEntityTooLarge", Message: "The request body is too large or unreadable: " + err.Error()}
		default:
			status, resp, err = s.admit(w, r, body, h)
		}
		if err != nil {
			status = s.writeError(w, r, requestID, err)
		} else {
			writeResponse(w, status, resp)
		}
		s.record(Request{Method: r.Method, Path: r.URL.Path, CallID: r.PathValue("id"),
			Body: body, Status: status, At: time.Now()})
	})
}

// admit authenticates and throttles the request, then runs h.
func (s *Sim) admit(w http.ResponseWriter, r *http.Request, body []byte, h apiHandler) (int, any, error) {
	if err := s.authenticate(r); err != nil {
		return 0, nil, err
	}
	if wait, ok := s.throttled(); ok {
		w.Header().Set("Retry-After", strconv.FormatFloat(wait.Round(time.Millisecond).Seconds(), 'f', -1, 64))
		return 0, nil, &Error{Status: http.StatusTooManyRequests, Code: "TooManyRequests", Message: "Too many requests. Retry after the time the Retry-After header gives."}
	}
	return h(r, body)
}

func writeResponse(w http.ResponseWriter, status int, resp any) {
	if l, ok := resp.(located); ok {
		w.Header().Set("Location", l.location)
		resp = l.body
	}
	if resp == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, resp)
}

// graphError is Graph's error body.
type graphError struct {
	Error graphErrorDetail `json:"error"`
}

type graphErrorDetail struct {
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	InnerError innerError `json:"innerError"`
}

type innerError struct {
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id,omitempty"`
	Date            string `json:"date"`
}

// writeError writes err as Graph's error body and returns the status used.
func (s *Sim) writeError(w http.ResponseWriter, r *http.Request, requestID string, err error) int {
	var ge *Error
	if !errors.As(err, &ge) {
		s.log.Error("graph request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		ge = &Error{Status: http.StatusInternalServerError, Code: "UnknownError", Message: err.Error()}
	}
	if ge.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="`+GraphAppID+`"`)
	}
	writeJSON(w, ge.Status, graphError{Error: graphErrorDetail{
		Code:    ge.Code,
		Message: ge.Message,
		InnerError: innerError{
			RequestID:       requestID,
			ClientRequestID: r.Header.Get("client-request-id"),
			Date:            time.Now().UTC().Format(time.RFC3339),
		},
	}})
	return ge.Status
}

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(format, args...)}
}

// unknownSegment answers paths the simulator does not serve, as Graph does.
func unknownSegment(r *http.Request, _ []byte) (int, any, error) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) == 4 && segs[2] == "calls" {
		return 0, nil, &Error{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed",
			Message: fmt.Sprintf("The HTTP method '%s' is not allowed on a call.", r.Method)}
	}
	return 0, nil, badRequest("Resource not found for the segment '%s'.", segs[len(segs)-1])
}

// getCall is GET /communications/calls/{id}.
func (s *Sim) getCall(r *http.Request, _ []byte) (int, any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupLocked(r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	res := s.fullResource(c)
	version := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0]
	res.ODataContext = "https://graph.microsoft.com/" + version + "/$metadata#communications/calls/$entity"
	if c.info.Result != nil {
		res.ResultInfo = &wireResult{Result: *c.info.Result}
	}
	return http.StatusOK, res, nil
}

// deleteCall is DELETE /communications/calls/{id}: hang up.
func (s *Sim) deleteCall(r *http.Request, _ []byte) (int, any, error) {
	if _, err := s.hangUp(r.PathValue("id")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// postAction is POST /communications/calls/{id}/{action}, the action named
// plainly (answer) or qualified as the C# SDK sends it (microsoft.graph.answer).
func (s *Sim) postAction(r *http.Request, body []byte) (int, any, error) {
	id, segment := r.PathValue("id"), r.PathValue("action")
	action := strings.ToLower(strings.TrimPrefix(segment, "microsoft.graph."))
	var err error
	switch action {
	case "answer":
		err = s.postAnswer(id, body)
	case "reject":
		err = s.postReject(id, body)
	case "redirect":
		err = s.postRedirect(id, body)
	case "transfer":
		err = s.postTransfer(id, body)
	case "keepalive":
		if err := s.keepAlive(id); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, nil, nil
	default:
		if _, ok := mediaOperations[action]; ok {
			return s.postOperation(id, action, body)
		}
		return 0, nil, badRequest("Resource not found for the segment '%s'.", segment)
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

// postParticipantsAction is POST …/participants/{action}: invite.
func (s *Sim) postParticipantsAction(r *http.Request, body []byte) (int, any, error) {
	segment := r.PathValue("action")
	switch strings.ToLower(strings.TrimPrefix(segment, "microsoft.graph.")) {
	case "invite":
		return s.invite(r.PathValue("id"), body)
	default:
		return 0, nil, badRequest("Resource not found for the segment '%s'.", segment)
	}
}

// postParticipantAction is POST …/participants/{participantId}/{action}:
// mute, plain or qualified.
func (s *Sim) postParticipantAction(r *http.Request, body []byte) (int, any, error) {
	segment := r.PathValue("action")
	switch strings.ToLower(strings.TrimPrefix(segment, "microsoft.graph.")) {
	case "mute":
		return s.muteParticipant(r.PathValue("id"), r.PathValue("participant"), body)
	default:
		return 0, nil, badRequest("Resource not found for the segment '%s'.", segment)
	}
}

// decodeBody unmarshals a JSON request body into v; an empty body is {}.
func decodeBody(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("Invalid request body: %v", err)
	}
	return nil
}

// checkCallback validates an optional callbackUri.
func checkCallback(uri string) error {
	if uri == "" {
		return nil
	}
	if err := checkHTTPURL(uri); err != nil {
		return badRequest("Invalid callbackUri: %v", err)
	}
	return nil
}

// answerBody is the body of answer.
type answerBody struct {
	CallbackURI        string   `json:"callbackUri"`
	AcceptedModalities []string `json:"acceptedModalities"`
	MediaConfig        *struct {
		ODataType string `json:"@odata.type"`
	} `json:"mediaConfig"`
	ParticipantCapacity *int `json:"participantCapacity"`
}

// mediaConfigTypes are the media configurations Graph accepts.
var mediaConfigTypes = []string{"microsoft.graph.serviceHostedMediaConfig", "microsoft.graph.appHostedMediaConfig"}

func (s *Sim) postAnswer(id string, body []byte) error {
	var b answerBody
	if err := decodeBody(body, &b); err != nil {
		return err
	}
	if b.MediaConfig == nil {
		return badRequest("mediaConfig is required.")
	}
	if t := strings.TrimPrefix(b.MediaConfig.ODataType, "#"); !containsFold(mediaConfigTypes, t) {
		return badRequest("mediaConfig @odata.type %q is not serviceHostedMediaConfig or appHostedMediaConfig.", b.MediaConfig.ODataType)
	}
	for _, m := range b.AcceptedModalities {
		if !containsFold(validModalities, m) {
			return badRequest("Unknown modality '%s' in acceptedModalities.", m)
		}
	}
	if err := checkCallback(b.CallbackURI); err != nil {
		return err
	}
	_, err := s.answer(id, b.CallbackURI)
	return err
}

// rejectBody is the body of reject.
type rejectBody struct {
	Reason      string `json:"reason"`
	CallbackURI string `json:"callbackUri"`
}

// rejectReasons are the reasons Graph documents (None, Busy, Forbidden);
// they are matched without regard to case, as the examples send lowercase.
var rejectReasons = []string{"none", "busy", "forbidden"}

func (s *Sim) postReject(id string, body []byte) error {
	var b rejectBody
	if err := decodeBody(body, &b); err != nil {
		return err
	}
	reason := strings.ToLower(b.Reason)
	if reason == "" {
		reason = "none"
	}
	if !containsFold(rejectReasons, reason) {
		return badRequest("Invalid reject reason '%s': use none, busy or forbidden.", b.Reason)
	}
	if err := checkCallback(b.CallbackURI); err != nil {
		return err
	}
	_, err := s.reject(id, reason, b.CallbackURI)
	return err
}

// redirectBody is the body of redirect.
type redirectBody struct {
	Targets     []wireParticipantInfo `json:"targets"`
	Timeout     int                   `json:"timeout"`
	CallbackURI string                `json:"callbackUri"`
}

func (s *Sim) postRedirect(id string, body []byte) error {
	var b redirectBody
	if err := decodeBody(body, &b); err != nil {
		return err
	}
	if len(b.Targets) == 0 {
		return badRequest("targets is required: redirect needs at least one target.")
	}
	targets := make([]Party, 0, len(b.Targets))
	for i, t := range b.Targets {
		p, ok := partyOf(t.Identity)
		if !ok {
			return badRequest("targets[%d] has no user, phone or application identity with an id.", i)
		}
		targets = append(targets, p)
	}
	if b.Timeout < 0 {
		return badRequest("timeout %d is negative.", b.Timeout)
	}
	if err := checkCallback(b.CallbackURI); err != nil {
		return err
	}
	_, err := s.redirect(id, targets, b.CallbackURI)
	return err
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
