// Package apierror writes Switchboard's JSON answers: errors in one shape
// for every endpoint, {"error":{"code":"conflict","message":"…"}}, whose
// message is written for a person (a console shows it as it is), and any
// other answer with the same headers.
package apierror

import (
	"encoding/json"
	"net/http"
)

// Body is the JSON shape of an error answer.
type Body struct {
	Error Detail `json:"error"`
}

// Detail says what went wrong.
type Detail struct {
	// Code is a short machine-readable word (bad_request, not_found, conflict…).
	Code string `json:"code"`
	// Message says why, in words.
	Message string `json:"message"`
}

// Write answers status with code and message.
func Write(w http.ResponseWriter, status int, code, message string) {
	JSON(w, status, Body{Error: Detail{Code: code, Message: message}})
}

// JSON answers status with v in JSON, never to be cached: answers tell
// live calls and people's numbers. What cannot be written (the client went
// away) is dropped: the status is already sent.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// CodeFor is the default code word for an HTTP status.
func CodeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthenticated"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusBadGateway:
		return "graph_error"
	case http.StatusServiceUnavailable:
		return "unavailable"
	default:
		return "error"
	}
}
