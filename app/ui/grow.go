package ui

import (
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// Progressive drawing of a table's first rows.
const (
	firstRows = 4                     // rows a table draws when it mounts
	moreRows  = 4                     // rows it adds each frame after
	rowFrame  = 16 * time.Millisecond // between two additions
)

// grower draws a table's rows a few per frame from its mount until it
// draws a whole page, so that no single task of the console's first load
// mounts them all: the browser stays responsive while the app starts. Each
// addition re-renders the table alone, not the page. Afterwards the table
// draws every row at once.
type grower struct {
	shown int // rows drawn; 0 before the mount, -1 once it draws all
	due   bool
}

// limit is how many of n rows to draw now.
func (g *grower) limit(n int, progressive bool) int {
	if g.shown < 0 || !progressive {
		return n
	}
	return min(n, max(g.shown, firstRows))
}

// grow schedules the next addition, if one is due, on the table whose
// context ctx is; page is the most rows it ever draws.
func (g *grower) grow(ctx app.Context, progressive bool, page int) {
	switch {
	case !progressive:
		g.shown = -1
		return
	case g.shown < 0 || g.due:
		return
	case g.shown == 0:
		g.shown = firstRows
	}
	g.due = true
	ctx.Async(func() {
		time.Sleep(rowFrame)
		ctx.Dispatch(func(app.Context) {
			g.due = false
			if g.shown += moreRows; g.shown >= page {
				g.shown = -1
				return
			}
			g.grow(ctx, progressive, page)
		})
	})
}
