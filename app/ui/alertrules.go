package ui

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/alerts"
	"switchboard/app/console"
	"switchboard/app/reasons"
)

// AlertRulesPanel lets admins read and change the alert rules. Like the
// audit panel, it loads when opened. Each rule is a small form: its kind,
// its threshold, and the words a breaching row shows.
type AlertRulesPanel struct {
	app.Compo

	State rulesState
	Ctl   AlertControl
}

// Render draws the toggle and, when open, the editor.
func (a *AlertRulesPanel) Render() app.UI {
	label := "Show the alert rules"
	if a.State.Open {
		label = "Hide the alert rules"
	}
	body := []app.UI{
		app.Div().Class("detail-head").Body(
			app.H2().ID("alert-rules-title").Text("Alert rules"),
			app.Button().Type("button").Class("btn").ID("alert-rules-toggle").Aria("expanded", a.State.Open).
				Aria("controls", "alert-rules-editor").OnClick(a.onToggle).Text(label),
		),
	}
	if a.State.Open {
		body = append(body, a.editor())
	}
	return app.Section().ID("alert-rules").Class("panel", "alert-rules").Aria("labelledby", "alert-rules-title").Body(body...)
}

func (a *AlertRulesPanel) editor() app.UI {
	st := a.State
	if st.Loading {
		return app.P().ID("alert-rules-editor").Class("empty").Text("Loading the alert rules…")
	}
	forms := make([]app.UI, len(st.Draft))
	for i, r := range st.Draft {
		forms[i] = a.rule(i, r)
	}
	if len(forms) == 0 {
		forms = append(forms, app.P().Class("empty").Text("No alert rules: no call is ever highlighted."))
	}
	footer := "Never changed."
	if st.Stored.UpdatedBy != "" {
		footer = "Last changed by " + st.Stored.UpdatedBy + " at " + fullTime(st.Stored.UpdatedAt) + "."
	}
	return app.Div().ID("alert-rules-editor").Body(
		app.Div().Class("rules").Body(forms...),
		app.Div().Class("choices").Body(
			app.Button().Type("button").Class("btn").ID("alert-rule-add").Disabled(len(st.Draft) >= alerts.MaxRules).
				OnClick(a.onAdd).Text("Add a rule"),
			app.Button().Type("button").Class("btn", "btn-primary").ID("alert-rules-save").Disabled(st.Saving).
				OnClick(a.onSave).Text(map[bool]string{true: "Saving…", false: "Save the rules"}[st.Saving]),
		),
		app.If(st.Error != "", app.P().Class("op-error").ID("alert-rules-error").Role("alert").Text(st.Error)),
		app.P().Class("hint").ID("alert-rules-status").Role("status").Text(st.Status),
		app.P().Class("hint").Text(footer),
	)
}

// rule is the form of rule i.
func (a *AlertRulesPanel) rule(i int, r alerts.Rule) app.UI {
	id := func(field string) string { return "alert-rule-" + strconv.Itoa(i) + "-" + field }
	kinds := make([]app.UI, 0, len(alerts.Kinds()))
	for _, k := range alerts.Kinds() {
		kinds = append(kinds, app.Option().Value(string(k)).Selected(k == r.Kind).Text(k.Label()))
	}
	fields := []app.UI{
		ruleField(id("kind"), "When", app.Select().ID(id("kind")).OnChange(a.onField(i, "kind"), i, "kind").Body(kinds...)),
	}
	if r.Kind == alerts.Failures {
		cats := make([]app.UI, 0, len(reasons.Categories()))
		for _, c := range reasons.Categories() {
			cats = append(cats, app.Option().Value(string(c)).Selected(c == r.Category).Text(c.Label()))
		}
		fields = append(fields,
			ruleField(id("count"), "More than (calls)", a.number(id("count"), r.Count, 0, alerts.MaxCount, i, "count")),
			ruleField(id("category"), "Ending as", app.Select().ID(id("category")).OnChange(a.onField(i, "category"), i, "category").Body(cats...)),
			ruleField(id("minutes"), "Within (minutes)", a.number(id("minutes"), r.Minutes, 1, alerts.MaxMinutes, i, "minutes")),
		)
	} else {
		fields = append(fields, ruleField(id("seconds"), "Longer than (seconds)", a.number(id("seconds"), r.Seconds, 1, alerts.MaxSeconds, i, "seconds")))
	}
	fields = append(fields, ruleField(id("words"), "Words on the row",
		app.Input().Type("text").ID(id("words")).MaxLength(alerts.MaxWords).Value(r.Words).Placeholder("%s", r.DefaultWords()).
			OnChange(a.onField(i, "words"), i, "words")))
	name := "Rule " + strconv.Itoa(i+1)
	return app.FieldSet().Class("rule").DataSet("rule", r.ID).Body(
		app.Legend().Text(name),
		app.Div().Class("rule-fields").Body(fields...),
		app.Button().Type("button").Class("btn", "btn-small").DataSet("action", "remove-rule").
			Aria("label", "Remove "+strings.ToLower(name)+": "+r.Words).OnClick(a.onRemove(i), i).Text("Remove"),
	)
}

func (a *AlertRulesPanel) number(id string, v, lo, hi, i int, name string) app.UI {
	return app.Input().Type("number").ID(id).Min(lo).Max(hi).Step(1).Value(strconv.Itoa(v)).
		OnChange(a.onField(i, name), i, name)
}

// ruleField is a labelled control.
func ruleField(id, label string, control app.UI) app.UI {
	return app.Div().Class("rule-field").Body(app.Label().For(id).Text(label), control)
}

func (a *AlertRulesPanel) onToggle(ctx app.Context, e app.Event) { a.Ctl.ToggleAlertRules(ctx) }
func (a *AlertRulesPanel) onAdd(ctx app.Context, e app.Event)    { a.Ctl.AddAlertRule(ctx) }
func (a *AlertRulesPanel) onSave(ctx app.Context, e app.Event)   { a.Ctl.SaveAlertRules(ctx) }

func (a *AlertRulesPanel) onRemove(i int) app.EventHandler {
	return func(ctx app.Context, e app.Event) { a.Ctl.RemoveAlertRule(ctx, i) }
}

func (a *AlertRulesPanel) onField(i int, name string) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		a.Ctl.EditAlertRule(ctx, i, name, e.Get("target").Get("value").String())
	}
}

// ToggleAlertRules implements AlertControl.
func (p *Page) ToggleAlertRules(ctx app.Context) {
	st := &p.alerting.rules
	st.Open = !st.Open
	if !st.Open || p.env == nil || p.env.API == nil {
		return
	}
	st.Loading, st.Error, st.Status = true, "", ""
	api := p.env.API
	p.background(func(bg context.Context) func(app.Context) {
		doc, err := api.AlertRules(bg)
		return func(ctx app.Context) {
			st := &p.alerting.rules
			st.Loading = false
			if err != nil {
				st.Error = "Could not load the alert rules: " + err.Error()
				return
			}
			st.Stored, st.Revision, st.Draft = doc, doc.Revision, append([]alerts.Rule(nil), doc.Rules...)
		}
	})
}

// EditAlertRule implements AlertControl. Numbers that do not parse are
// kept as zero, which the check before saving refuses in words.
func (p *Page) EditAlertRule(ctx app.Context, i int, name, value string) {
	st := &p.alerting.rules
	if i < 0 || i >= len(st.Draft) {
		return
	}
	// A new slice, never a change in place: the panel's props hold the
	// old one, and go-app redraws only props that differ.
	st.Draft = slices.Clone(st.Draft)
	r := &st.Draft[i]
	num, _ := strconv.Atoi(strings.TrimSpace(value))
	defaulted := r.Words == "" || r.Words == r.DefaultWords()
	switch name {
	case "kind":
		r.Kind = alerts.Kind(value)
		if r.Kind == alerts.Failures && r.Minutes == 0 {
			r.Count, r.Minutes, r.Category = 3, 5, reasons.Timeout
		}
		if r.Kind.PerCall() && r.Seconds == 0 {
			r.Seconds = 30
		}
	case "seconds":
		r.Seconds = num
	case "count":
		r.Count = num
	case "minutes":
		r.Minutes = num
	case "category":
		r.Category = reasons.Category(value)
	case "words":
		r.Words = strings.TrimSpace(value)
		defaulted = false
	}
	if defaulted {
		r.Words = "" // the default words follow the threshold until someone writes their own
	}
	st.Status = "Not saved yet."
}

// AddAlertRule implements AlertControl.
func (p *Page) AddAlertRule(ctx app.Context) {
	st := &p.alerting.rules
	if len(st.Draft) >= alerts.MaxRules {
		return
	}
	st.Draft = append(slices.Clone(st.Draft), alerts.Rule{Kind: alerts.Ringing, Seconds: 30})
	st.Status = "Not saved yet."
	focusID(p.ctxFor(ctx), "alert-rule-"+strconv.Itoa(len(st.Draft)-1)+"-kind")
}

// RemoveAlertRule implements AlertControl.
func (p *Page) RemoveAlertRule(ctx app.Context, i int) {
	st := &p.alerting.rules
	if i < 0 || i >= len(st.Draft) {
		return
	}
	st.Draft = append(st.Draft[:i:i], st.Draft[i+1:]...)
	st.Status = "Not saved yet."
	focusID(p.ctxFor(ctx), "alert-rule-add")
}

// SaveAlertRules implements AlertControl: the draft is checked here first,
// with the server's own rules, so a mistake is said before anything is
// sent; the server checks again.
func (p *Page) SaveAlertRules(ctx app.Context) {
	st := &p.alerting.rules
	if st.Saving || p.env == nil || p.env.API == nil {
		return
	}
	draft := alerts.Normalize(st.Draft)
	if err := alerts.Validate(draft); err != nil {
		st.Error = "Not saved: " + strings.TrimPrefix(err.Error(), alerts.ErrInvalid.Error()+": ")
		return
	}
	st.Saving, st.Error, st.Status = true, "", "Saving…"
	api, doc := p.env.API, alerts.Document{Rules: draft, Revision: st.Revision}
	p.background(func(bg context.Context) func(app.Context) {
		saved, err := api.SaveAlertRules(bg, doc)
		return func(ctx app.Context) {
			st := &p.alerting.rules
			st.Saving = false
			var ae *console.APIError
			switch {
			case errors.As(err, &ae) && ae.Status == 409:
				st.Error, st.Status = "Not saved: "+ae.Message, ""
			case err != nil:
				st.Error, st.Status = "Could not save the alert rules: "+err.Error(), ""
			default:
				st.Stored, st.Revision, st.Draft = saved, saved.Revision, append([]alerts.Rule(nil), saved.Rules...)
				st.Status = "Saved: " + plural(len(saved.Rules), "rule") + "."
			}
		}
	})
}
