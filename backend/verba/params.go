package verba

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
)

// Parameter names as the recording platform spells them. Clients may use any
// letter case.
const (
	paramAction         = "action"
	paramAPIKey         = "apiKey"
	paramToken          = "token"
	paramResponseType   = "responseType"
	paramCallID         = "callID"
	paramPlatformCallID = "platformCallID"
	paramNativeID       = "nativeID"
	paramMeetingID      = "meetingID"
	paramExtension      = "extension"
	paramStatus         = "status"
)

// The actions the API serves.
const (
	actionDeleteCall   = "DeleteCall"
	actionRequestToken = "RequestToken"
	actionRevokeToken  = "RevokeToken"
)

// maxValueLen bounds every parameter value; identifiers are far shorter.
const maxValueLen = 1024

// request is a parsed, well-formed API request. Whether its key, token and
// identifier are known is for the authenticator and the lookup to say.
type request struct {
	action string // one of the action* constants
	format format
	apiKey string
	token  string
	lookup lookup // DeleteCall only
}

// lookup says which call DeleteCall is about.
type lookup struct {
	by     string    // the identifier's parameter name: paramCallID … paramExtension
	value  string    // the identifier
	status statusSet // with paramExtension only
}

// statusSet is a set of the extension statuses of DeleteCall.
type statusSet uint8

const (
	statusOngoing statusSet = 1 << iota
	statusLast
	statusNext
)

func (s statusSet) has(t statusSet) bool { return s&t != 0 }

// String lists the statuses in the documented order, comma-separated.
func (s statusSet) String() string {
	var parts []string
	for _, st := range []struct {
		bit  statusSet
		name string
	}{{statusOngoing, "ongoing"}, {statusLast, "last"}, {statusNext, "next"}} {
		if s.has(st.bit) {
			parts = append(parts, st.name)
		}
	}
	return strings.Join(parts, ",")
}

// identifiers are the parameters that name a call, in the order the
// recording platform documents them.
func identifiers() []string {
	return []string{paramCallID, paramPlatformCallID, paramNativeID, paramMeetingID, paramExtension}
}

// canonicalParam returns the documented spelling of a parameter name given in
// any letter case, and false for names the API does not know.
func canonicalParam(name string) (string, bool) {
	all := []string{paramAction, paramAPIKey, paramToken, paramResponseType, paramStatus}
	all = append(all, identifiers()...)
	for _, p := range all {
		if strings.EqualFold(name, p) {
			return p, true
		}
	}
	return "", false
}

// parseRequest turns the request's parameters (query string and form body
// merged) into a request. It reads nothing but v. On failure it returns an
// *apiError and the request as far as it was parsed, so that the error is
// answered in the requested format when that much was understood.
//
// Checks run in this order, and the first failure is reported: repeated or
// oversized parameters, responseType, action, apiKey, then the action's own
// parameters.
func parseRequest(v url.Values) (request, error) {
	var req request
	params, collectErr := collect(v)
	var formatErr, actionErr error
	if rt := params[paramResponseType]; rt != "" {
		req.format, formatErr = parseFormat(rt)
	}
	req.action, actionErr = parseAction(params[paramAction])
	if err := cmp.Or(collectErr, formatErr, actionErr); err != nil {
		return req, err
	}
	if req.apiKey = params[paramAPIKey]; req.apiKey == "" {
		return req, unauthorized("missing parameter apiKey")
	}
	req.token = params[paramToken]
	var err error
	switch req.action {
	case actionDeleteCall:
		req.lookup, err = parseLookup(params)
	case actionRevokeToken:
		if req.token == "" {
			err = badRequest("missing parameter token: RevokeToken revokes the token given")
		}
	}
	return req, err
}

// collect keeps the parameters the API knows under their documented names,
// trimmed of surrounding spaces. Unknown parameters are ignored (clients add
// cache busters); a known one given twice, in any letter case or in both
// the query and the body, is an error, and so is a value over maxValueLen.
// The error is the first such problem; the parameters without problems are
// returned all the same, so that the answer can still use responseType and
// action. Empty values count as absent.
func collect(v url.Values) (map[string]string, error) {
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	slices.Sort(names) // report the same error for the same input
	params := make(map[string]string, len(names))
	count := make(map[string]int, len(names))
	for _, name := range names {
		if canon, ok := canonicalParam(name); ok {
			count[canon] += len(v[name])
		}
	}
	var first error
	for _, name := range names {
		canon, ok := canonicalParam(name)
		if !ok {
			continue
		}
		val := strings.TrimSpace(v[name][0])
		var err error
		switch {
		case count[canon] > 1:
			err = badRequest("parameter %s is given more than once", canon)
		case len(val) > maxValueLen:
			err = badRequest("parameter %s is too long (at most %d characters)", canon, maxValueLen)
		case val != "":
			params[canon] = val
		}
		if first == nil {
			first = err
		}
	}
	return params, first
}

// parseAction returns the documented spelling of an action given in any
// letter case.
func parseAction(s string) (string, error) {
	if s == "" {
		return "", badRequest("missing parameter action")
	}
	for _, a := range []string{actionDeleteCall, actionRequestToken, actionRevokeToken} {
		if strings.EqualFold(s, a) {
			return a, nil
		}
	}
	return "", badRequest("unknown action %s; use DeleteCall, RequestToken or RevokeToken", quote(s))
}

// parseLookup reads DeleteCall's identifier: exactly one of the identifiers,
// and status with extension (and only with it).
func parseLookup(params map[string]string) (lookup, error) {
	var given []string
	for _, id := range identifiers() {
		if params[id] != "" {
			given = append(given, id)
		}
	}
	switch len(given) {
	case 0:
		return lookup{}, badRequest("missing call identifier: give one of callID, platformCallID, nativeID, meetingID, or extension with status")
	case 1:
	default:
		return lookup{}, badRequest("give only one call identifier; got %s", strings.Join(given, " and "))
	}
	l := lookup{by: given[0], value: params[given[0]]}
	status := params[paramStatus]
	if l.by != paramExtension {
		if status != "" {
			return lookup{}, badRequest("status applies only to extension, not to %s", l.by)
		}
		return l, nil
	}
	if status == "" {
		return lookup{}, badRequest("extension needs status: ongoing, last, next, or a comma-separated combination")
	}
	set, err := parseStatus(status)
	if err != nil {
		return lookup{}, err
	}
	l.status = set
	return l, nil
}

// parseStatus reads a comma-separated list of statuses in any letter case.
func parseStatus(s string) (statusSet, error) {
	var set statusSet
	for item := range strings.SplitSeq(s, ",") {
		switch strings.ToLower(strings.TrimSpace(item)) {
		case "ongoing":
			set |= statusOngoing
		case "last":
			set |= statusLast
		case "next":
			set |= statusNext
		case "":
			return 0, badRequest("status %s has an empty item", quote(s))
		default:
			return 0, badRequest("unknown status %s; use ongoing, last or next, comma-separated", quote(strings.TrimSpace(item)))
		}
	}
	return set, nil
}

// validate checks the invariants a request returned without error must
// hold. The fuzz test holds parseRequest to it.
func (r request) validate() error {
	if _, err := parseAction(r.action); err != nil || r.apiKey == "" {
		return badRequest("invalid action or missing apiKey")
	}
	switch r.action {
	case actionDeleteCall:
		if !slices.Contains(identifiers(), r.lookup.by) || r.lookup.value == "" {
			return badRequest("invalid identifier")
		}
		if (r.lookup.by == paramExtension) != (r.lookup.status != 0) {
			return badRequest("status without extension, or extension without status")
		}
	case actionRevokeToken:
		if r.token == "" {
			return badRequest("RevokeToken without token")
		}
	}
	return nil
}
