package ui

import (
	"switchboard/app/calls"
	"switchboard/app/reasons"
)

// The console's colours for call states and end categories, for the SVG
// summary bars' fill attributes (go-app sets an element's class through
// className, which SVG elements do not accept). HTML elements take the same
// colours from classes in web/app.css: the Content-Security-Policy refuses
// inline style attributes. TestPaletteMatchesStylesheet keeps the two equal.
var (
	stateColours = map[calls.State]string{
		calls.Incoming:         "#f59e0b",
		calls.Establishing:     "#38bdf8",
		calls.Ringing:          "#38bdf8",
		calls.Redirecting:      "#38bdf8",
		calls.Established:      "#22c55e",
		calls.Hold:             "#a78bfa",
		calls.Transferring:     "#2dd4bf",
		calls.TransferAccepted: "#2dd4bf",
		calls.Terminating:      "#fb923c",
		calls.Terminated:       "#64748b",
	}
	categoryColours = map[reasons.Category]string{
		reasons.EndedNormally: "#22c55e",
		reasons.EndedByBot:    "#38bdf8",
		reasons.Transfer:      "#2dd4bf",
		reasons.Timeout:       "#f59e0b",
		reasons.Unreachable:   "#fb923c",
		reasons.MediaFailure:  "#e879f9",
		reasons.ServiceError:  "#f87171",
		reasons.Reconciled:    "#a5b4fc",
		reasons.Unknown:       "#94a3b8",
	}
)

// otherColour colours states Graph may add later.
const otherColour = "#94a3b8"

func stateColour(s calls.State) string {
	if c, ok := stateColours[s]; ok {
		return c
	}
	return otherColour
}

func categoryColour(c reasons.Category) string {
	if col, ok := categoryColours[c]; ok {
		return col
	}
	return otherColour
}
