package ui

import (
	"slices"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/verbs"
)

// Recent targets are kept in the browser, for the next redirect or transfer.
const (
	recentTargetsKey = "switchboard.recentTargets"
	maxRecentTargets = 5
)

// loadRecentTargets reads the targets this browser used lately; a broken
// entry is forgotten.
func loadRecentTargets(ctx app.Context) []string {
	var list []string
	if err := ctx.LocalStorage().Get(recentTargetsKey, &list); err != nil {
		return nil
	}
	var out []string
	for _, s := range list {
		if t, err := verbs.ParseTarget(s); err == nil && !slices.Contains(out, t.ID) {
			out = append(out, t.ID)
		}
	}
	return out[:min(len(out), maxRecentTargets)]
}

// rememberTarget puts target first among the recent ones and saves them.
func (p *Page) rememberTarget(ctx app.Context, target string) {
	t, err := verbs.ParseTarget(target)
	if err != nil {
		return
	}
	list := append([]string{t.ID}, slices.DeleteFunc(slices.Clone(p.recent), func(s string) bool { return s == t.ID })...)
	p.recent = list[:min(len(list), maxRecentTargets)]
	if err := ctx.LocalStorage().Set(recentTargetsKey, p.recent); err != nil {
		app.Log("switchboard: saving recent targets: " + err.Error())
	}
}
