package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"switchboard/app/calls"
	"switchboard/app/console"
	"switchboard/app/verbs"
)

// typed is an input event whose target's value is text.
type typed struct {
	app.Value
	text  string
	depth int
}

func (v typed) Get(p string) app.Value {
	return typed{Value: v.Value, text: v.text, depth: v.depth + 1}
}

func (v typed) String() string { return v.text }

// typeInto fires the input handler of the only element matching want with text.
func typeInto(t *testing.T, d app.ClientDispatcher, root app.UI, want map[string]string, text string) {
	t.Helper()
	found := find(root, want)
	if len(found) != 1 {
		t.Fatalf("%d elements match %v, want 1", len(found), want)
	}
	h := handler(t, found[0], "input")
	d.Dispatch(app.Dispatch{Mode: app.Next, Source: found[0].ui, Function: func(ctx app.Context) {
		d.Emit(found[0].ui, func() { h(ctx, app.Event{Value: typed{Value: app.Null(), text: text}}) })
	}})
	d.Consume()
}

func TestRedirectAsksForATarget(t *testing.T) {
	f := newFixture(t, console.Supervisor)
	f.snapshot(call("r1", calls.Incoming, t0.Add(-time.Second)))
	click(t, f.disp, f.page, map[string]string{"data-action": "redirect", "data-call-id": "r1"})
	if html := f.html(); !strings.Contains(html, "Redirect the call from") || !strings.Contains(html, `id="target-form"`) {
		t.Fatalf("no target dialog:\n%s", html)
	}
	send := func() element { return find(f.page, map[string]string{"id": "target-send"})[0] }
	if send().attrs["disabled"] != "true" {
		t.Fatal("send is enabled before a target was typed")
	}
	typeInto(t, f.disp, f.page, map[string]string{"name": "target"}, "4255550100")
	if html := f.html(); send().attrs["disabled"] != "true" || !strings.Contains(html, "no country code") {
		t.Fatalf("a number without country code is not explained:\n%s", html)
	}
	typeInto(t, f.disp, f.page, map[string]string{"name": "target"}, "+1 425 555 0100")
	if html := f.html(); send().attrs["disabled"] == "true" || !strings.Contains(html, "Phone number +14255550100") {
		t.Fatalf("a valid number is not accepted:\n%s", html)
	}
	fire(t, f.disp, find(f.page, map[string]string{"id": "target-form"})[0], "submit")
	if got := f.api.actions(); !slices.Equal(got, []string{`POST /api/calls/r1/redirect {"target":"+14255550100"}`}) {
		t.Fatalf("sent %q", got)
	}
	if len(find(f.page, map[string]string{"role": "dialog"})) != 0 {
		t.Fatal("the dialog stayed open")
	}
	if !slices.Equal(f.page.recent, []string{"+14255550100"}) {
		t.Fatalf("recent targets = %v", f.page.recent)
	}
}

func TestTransferOffersRecentTargets(t *testing.T) {
	f := newFixture(t, console.Supervisor)
	f.page.recent = []string{"ada@contoso.example", "+14255550100"}
	f.snapshot(call("t1", calls.Established, t0.Add(-time.Minute)))
	click(t, f.disp, f.page, map[string]string{"data-action": "transfer", "data-call-id": "t1"})
	click(t, f.disp, f.page, map[string]string{"data-target": "ada@contoso.example"})
	fire(t, f.disp, find(f.page, map[string]string{"id": "target-form"})[0], "submit")
	if got := f.api.actions(); !slices.Equal(got, []string{`POST /api/calls/t1/transfer {"target":"ada@contoso.example"}`}) {
		t.Fatalf("sent %q", got)
	}
	if !slices.Equal(f.page.recent, []string{"ada@contoso.example", "+14255550100"}) {
		t.Fatalf("recent targets = %v", f.page.recent)
	}
	// A failed transfer stays on the row in words, and is not remembered.
	f.api.fail["POST /api/calls/t1/transfer"] = apiFailure{409, "conflict", "cannot transfer: the call is hold"}
	click(t, f.disp, f.page, map[string]string{"data-action": "transfer", "data-call-id": "t1"})
	typeInto(t, f.disp, f.page, map[string]string{"name": "target"}, "+4930901820")
	fire(t, f.disp, find(f.page, map[string]string{"id": "target-form"})[0], "submit")
	if !strings.Contains(f.html(), "Could not transfer: the call is hold") || slices.Contains(f.page.recent, "+4930901820") {
		t.Fatalf("failure: recent %v\n%s", f.page.recent, f.html())
	}
}

func TestUnknownVerbsFailInWords(t *testing.T) {
	f := newFixture(t, console.Admin)
	f.snapshot(call("u1", calls.Established, t0.Add(-time.Minute)))
	f.disp.Dispatch(app.Dispatch{Mode: app.Update, Source: f.page, Function: func(ctx app.Context) { f.page.Request(ctx, "u1", "teleport") }})
	f.disp.Consume()
	if got := f.api.actions(); len(got) != 0 {
		t.Fatalf("an unknown verb sent %q", got)
	}
	errs := find(f.page, map[string]string{"class": "op-error", "data-call-id": "u1"})
	if len(errs) != 1 || !strings.Contains(app.HTMLString(errs[0].ui), "unknown action") {
		t.Fatalf("no error on the row:\n%s", f.html())
	}
	// A dialog opened for an unknown verb asks nothing, and never to delete.
	f.page.dialog = dialog{Verb: "teleport", CallID: "u1"}
	f.disp.Dispatch(app.Dispatch{Mode: app.Update, Source: f.page, Function: func(app.Context) {}})
	f.disp.Consume()
	html := f.html()
	if !strings.Contains(html, "does not know the action teleport") || strings.Contains(html, "Delete") || len(find(f.page, map[string]string{"id": "dialog-first"})) != 0 {
		t.Fatalf("dialog for an unknown verb:\n%s", html)
	}
	// Confirming it anyway sends nothing either.
	f.disp.Dispatch(app.Dispatch{Mode: app.Update, Source: f.page, Function: func(ctx app.Context) { f.page.Confirm(ctx, "u1", "teleport", "") }})
	f.disp.Consume()
	if got := f.api.actions(); len(got) != 0 {
		t.Fatalf("confirming an unknown verb sent %q", got)
	}
}

func TestParticipantsAndMute(t *testing.T) {
	c := call("g1", calls.Established, t0.Add(-time.Minute))
	c.Group, c.MyParticipantID, c.Participants = true, "p-bot", 3
	c.Roster = []calls.Participant{
		{ID: "p-bot", Party: calls.Party{Kind: "application", DisplayName: "Front desk"}},
		{ID: "p-ada", Party: calls.Party{Kind: "user", ID: "u-ada", DisplayName: "Ada Byron"}, Role: "presenter",
			Media: []calls.Media{{Type: "audio", Direction: "sendReceive"}, {Type: "video", Direction: "receiveOnly"}}},
		{ID: "p-bob", Party: calls.Party{Kind: "user", ID: "u-bob", DisplayName: "Bob Kahn"}, Muted: true, InLobby: true, Recording: "recording"},
	}
	for _, tt := range []struct {
		role  console.Role
		mutes []string
	}{{console.Viewer, nil}, {console.Supervisor, []string{"p-ada"}}} {
		t.Run(string(tt.role), func(t *testing.T) {
			f := newFixture(t, tt.role)
			f.snapshot(c)
			click(t, f.disp, f.page, map[string]string{"data-action": "details", "data-call-id": "g1"})
			html := app.HTMLString(find(f.page, map[string]string{"id": "detail"})[0].ui)
			for _, want := range []string{"3 participants", "Ada Byron", "presenter", "Bob Kahn", "muted", "in the lobby", "recording", "the bot", "video (receiveOnly)"} {
				if !strings.Contains(html, want) {
					t.Errorf("participants lack %q:\n%s", want, html)
				}
			}
			var mutes []string
			for _, b := range find(f.page, map[string]string{"data-action": "mute"}) {
				mutes = append(mutes, b.attrs["data-participant"])
			}
			if !slices.Equal(mutes, tt.mutes) {
				t.Fatalf("mute offered for %v, want %v (not the bot, not the muted)", mutes, tt.mutes)
			}
			if tt.role != console.Supervisor {
				return
			}
			click(t, f.disp, f.page, map[string]string{"data-action": "mute", "data-participant": "p-ada"})
			if got := f.api.actions(); !slices.Equal(got, []string{"POST /api/calls/g1/participants/p-ada/mute"}) {
				t.Fatalf("sent %q", got)
			}
		})
	}
}

func TestEndedRowsSayTransfersAndRedirects(t *testing.T) {
	xfer := endedCall("x1", 0, 0)
	xfer.Result, xfer.TerminationReason = nil, "AppTransferred"
	mine := endedCall("x2", 0, 7015)
	mine.EndedBy, mine.EndAction, mine.EndTarget = "alice", verbs.Transfer, "+14255550100"
	redir := endedCall("x3", 0, 0)
	redir.Result, redir.EndedBy, redir.EndAction, redir.EndTarget = nil, "bob", verbs.Redirect, "ada@contoso.example"
	tests := []struct {
		call calls.Call
		want []string
	}{
		{xfer, []string{"The call was transferred by the bot.", "AppTransferred", "cat-transfer"}},
		{mine, []string{"transferred by alice to +14255550100", "0/7015", "Call ended as the transfer completed successfully."}},
		{redir, []string{"redirected by bob to ada@contoso.example", "The bot redirected the call; Graph gave no reason."}},
	}
	for _, tt := range tests {
		f := newFixture(t, console.Viewer)
		f.snapshot(tt.call)
		html := f.html()
		for _, w := range tt.want {
			if !strings.Contains(html, w) {
				t.Errorf("%s: the ended row lacks %q:\n%s", tt.call.ID, w, html)
			}
		}
		if strings.Contains(html, "Graph gave no reason.") && tt.call.TerminationReason != "" {
			t.Errorf("%s: a transferred call reads as without reason", tt.call.ID)
		}
	}
}
