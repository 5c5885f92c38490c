package verba

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"time"

	"switchboard/backend/reqbody"
)

// MaxBodyBytes bounds a POST body; a DeleteCall form is a few hundred bytes.
const MaxBodyBytes = 64 << 10

// DefaultBodyTimeout is how long a POST body may take to arrive when
// Config.BodyTimeout is zero.
const DefaultBodyTimeout = 10 * time.Second

// readParams returns the query string's parameters, plus, for POST, the
// form body's: application/x-www-form-urlencoded (also assumed when there is
// no Content-Type) or multipart/form-data without files. Duplicates are
// kept, for parseRequest to refuse. With an error, it returns what it could
// read, so that the error can be answered in the format asked for.
//
// The body must arrive within timeout; a slower one is cut with 408.
func readParams(w http.ResponseWriter, r *http.Request, timeout time.Duration) (url.Values, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("malformed query string: %v", err)
	}
	if r.Method != http.MethodPost {
		return v, nil
	}
	body := reqbody.Limit(w, r, MaxBodyBytes, timeout)
	form, err := readForm(r.Header.Get("Content-Type"), body, timeout)
	for name, vals := range form {
		v[name] = append(v[name], vals...)
	}
	return v, err
}

// readForm parses a POST body by its content type.
func readForm(contentType string, body io.Reader, timeout time.Duration) (url.Values, error) {
	mediaType, params := "", map[string]string(nil)
	if contentType != "" {
		var err error
		if mediaType, params, err = mime.ParseMediaType(contentType); err != nil {
			return nil, badRequest("malformed Content-Type: %v", err)
		}
	}
	switch mediaType {
	case "", "application/x-www-form-urlencoded":
		data, err := io.ReadAll(body)
		if err != nil {
			return nil, bodyError(err, timeout)
		}
		form, err := url.ParseQuery(string(data))
		if err != nil {
			return nil, badRequest("malformed form body: %v", err)
		}
		return form, nil
	case "multipart/form-data":
		return readMultipart(body, params["boundary"], timeout)
	}
	e := errorf(http.StatusUnsupportedMediaType,
		"unsupported Content-Type %s; send application/x-www-form-urlencoded or multipart/form-data", quote(mediaType))
	e.unread = true
	return nil, e
}

func readMultipart(body io.Reader, boundary string, timeout time.Duration) (url.Values, error) {
	if boundary == "" {
		return nil, badRequest("multipart/form-data without a boundary")
	}
	form, err := multipart.NewReader(body, boundary).ReadForm(MaxBodyBytes)
	if err != nil {
		return nil, bodyError(err, timeout)
	}
	defer form.RemoveAll() //nolint:errcheck // only temporary files, and there are none below the memory limit
	if len(form.File) > 0 {
		return form.Value, badRequest("file uploads are not accepted")
	}
	return url.Values(form.Value), nil
}

// bodyError tells a body over the limit (413) and one too slow (408) from a
// malformed one (400).
func bodyError(err error, timeout time.Duration) error {
	var e *apiError
	switch err = reqbody.Classify(err); {
	case errors.Is(err, reqbody.ErrTooSlow):
		e = errorf(http.StatusRequestTimeout, "request body did not arrive within %v", timeout)
	case errors.Is(err, reqbody.ErrTooLarge):
		e = errorf(http.StatusRequestEntityTooLarge, "request body too large (at most %d bytes)", MaxBodyBytes)
	default:
		e = badRequest("unreadable request body: %v", err)
	}
	e.unread = true
	return e
}
