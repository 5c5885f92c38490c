package verba

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// format is a responseType.
type format int

const (
	formatXML format = iota // the default
	formatJSON
	formatText
	formatHTML
)

// parseFormat reads a responseType in any letter case.
func parseFormat(s string) (format, error) {
	switch strings.ToUpper(s) {
	case "XML":
		return formatXML, nil
	case "JSON":
		return formatJSON, nil
	case "TEXT":
		return formatText, nil
	case "HTML":
		return formatHTML, nil
	}
	return formatXML, badRequest("unknown responseType %s; use XML, JSON, TEXT or HTML", quote(s))
}

// Response codes of the envelope: the recording platform answers 0 on
// success and 2 on error.
const (
	codeOK    = 0
	codeError = 2
)

// envelope is the body of every answer, success or error, in every format.
type envelope struct {
	Code         int
	Type         string // the action, as documented; empty when not understood
	Token        string // RequestToken's token
	Message      string // what was done, when more than "done" is worth saying
	ErrorMessage string // why it failed
}

// fields are the envelope's parts in the order every format writes them,
// named as in the XML: the attributes code and type, then the elements.
func (e envelope) fields() [][2]string {
	f := [][2]string{{"code", strconv.Itoa(e.Code)}}
	if e.Type != "" {
		f = append(f, [2]string{"type", e.Type})
	}
	return append(f, e.elements()...)
}

// elements are the non-empty child elements of the XML Response.
func (e envelope) elements() [][2]string {
	var f [][2]string
	for _, kv := range [][2]string{{"Token", e.Token}, {"Message", e.Message}, {"ErrorMessage", e.ErrorMessage}} {
		if kv[1] != "" {
			f = append(f, kv)
		}
	}
	return f
}

// write sends the envelope with the HTTP status in format f.
func (e envelope) write(w http.ResponseWriter, f format, status int) {
	body, ctype := e.encode(f)
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store") // tokens must not be cached
	w.WriteHeader(status)
	_, _ = w.Write(body) // a client that went away is not our error
}

func (e envelope) encode(f format) (body []byte, contentType string) {
	switch f {
	case formatJSON:
		return e.json(), "application/json; charset=utf-8"
	case formatText:
		return e.text(), "text/plain; charset=utf-8"
	case formatHTML:
		return e.html(), "text/html; charset=utf-8"
	default:
		return e.xml(), "application/xml; charset=utf-8"
	}
}

// xml writes the recording platform's envelope, self-closing when there is
// nothing inside, as in its documented samples:
//
//	<VerbaApi><Response code="0" type="DeleteCall"/></VerbaApi>
func (e envelope) xml() []byte {
	var b bytes.Buffer
	b.WriteString(`<VerbaApi><Response code="`)
	b.WriteString(strconv.Itoa(e.Code))
	b.WriteByte('"')
	if e.Type != "" {
		b.WriteString(` type="`)
		_ = xml.EscapeText(&b, []byte(e.Type)) // writes to memory: cannot fail
		b.WriteByte('"')
	}
	children := e.elements()
	if len(children) == 0 {
		b.WriteString("/></VerbaApi>")
		return b.Bytes()
	}
	b.WriteByte('>')
	for _, kv := range children {
		b.WriteString("<" + kv[0] + ">")
		_ = xml.EscapeText(&b, []byte(kv[1]))
		b.WriteString("</" + kv[0] + ">")
	}
	b.WriteString("</Response></VerbaApi>")
	return b.Bytes()
}

// jsonEnvelope mirrors the XML: attributes and elements keep their names.
type jsonEnvelope struct {
	VerbaApi struct {
		Response struct {
			Code         int    `json:"code"`
			Type         string `json:"type,omitempty"`
			Token        string `json:"Token,omitempty"`
			Message      string `json:"Message,omitempty"`
			ErrorMessage string `json:"ErrorMessage,omitempty"`
		} `json:"Response"`
	} `json:"VerbaApi"`
}

func (e envelope) json() []byte {
	var j jsonEnvelope
	r := &j.VerbaApi.Response
	r.Code, r.Type, r.Token, r.Message, r.ErrorMessage = e.Code, e.Type, e.Token, e.Message, e.ErrorMessage
	b, err := json.Marshal(j)
	if err != nil { // strings and an int always marshal
		panic("verba: marshal envelope: " + err.Error())
	}
	return append(b, '\n')
}

// text writes one name=value line per field. Line breaks in values become
// spaces so that every field stays on its line.
func (e envelope) text() []byte {
	var b strings.Builder
	flatten := strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ")
	for _, kv := range e.fields() {
		b.WriteString(kv[0] + "=" + flatten.Replace(kv[1]) + "\n")
	}
	return []byte(b.String())
}

// htmlPage shows the envelope as a definition list whose entries carry the
// field names as ids, so that a script can read it as well as a person.
var htmlPage = template.Must(template.New("verba").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>VerbaApi {{.Type}}</title></head>
<body><h1>VerbaApi</h1><dl id="Response">
{{- range .Fields}}<dt>{{index . 0}}</dt><dd id="{{index . 0}}">{{index . 1}}</dd>{{end -}}
</dl></body></html>
`))

func (e envelope) html() []byte {
	var b bytes.Buffer
	data := struct {
		Type   string
		Fields [][2]string
	}{e.Type, e.fields()}
	if err := htmlPage.Execute(&b, data); err != nil { // the template is fixed and the data plain strings
		panic("verba: render envelope: " + err.Error())
	}
	return b.Bytes()
}

// peek reads, as leniently as it can, the responseType and action of
// parameters that may not parse as a whole, so that errors found before or
// while they are parsed (a wrong method, a body too large) still answer in
// the format asked for. Anything unclear leaves XML and no action.
func peek(v url.Values) (format, string) {
	var f format
	var action string
	for name, vals := range v {
		switch {
		case strings.EqualFold(name, paramResponseType) && len(vals) == 1:
			f, _ = parseFormat(strings.TrimSpace(vals[0])) // XML when unknown
		case strings.EqualFold(name, paramAction) && len(vals) == 1:
			action, _ = parseAction(strings.TrimSpace(vals[0]))
		}
	}
	return f, action
}
