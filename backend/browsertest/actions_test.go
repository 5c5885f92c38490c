package browsertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"switchboard/backend/graphsim"
)

// typeTarget types into the dialog's target field.
func (p *page) typeTarget(text string) {
	p.tb.Helper()
	p.waitJS("the target form", `document.querySelector("#target-form input[name=target]")`, stepTimeout)
	p.do("type the target", chromedp.SendKeys(`#target-form input[name=target]`, text))
}

func TestRedirectAndTransferInTheConsole(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "alice")
	ctx := testContext(t)

	ringing, talking := ringingAndTalking(ctx, t, s)
	p.waitJS("both rows", liveStatesAre(map[string]shownRow{ringing: {"incoming", "Ringing"}, talking: {"established", "Talking"}}), stepTimeout)

	// Redirect the ringing call: the form refuses a number without its
	// country code, then sends the one typed with it.
	p.openDialog("redirect", ringing)
	p.typeTarget("4255550100")
	p.waitJS("the form saying why it cannot send", `document.querySelector("#target-send").disabled &&
		document.querySelector("#target-hint").textContent.includes("no country code")`, stepTimeout)
	p.eval(`document.querySelector("#target-form input[name=target]").value = ""`, new(string))
	p.typeTarget("+1 425 555 0142")
	p.waitJS("the form accepting the number", `!document.querySelector("#target-send").disabled &&
		document.querySelector("#target-hint").textContent === "Phone number +14255550142"`, stepTimeout)
	p.click("#target-send")
	req := s.waitAction(http.MethodPost, ringing, "/redirect")
	var body struct {
		Targets []struct {
			Identity struct{ Phone struct{ ID string } }
		}
	}
	if err := json.Unmarshal(req.Body, &body); err != nil || len(body.Targets) != 1 || body.Targets[0].Identity.Phone.ID != "+14255550142" {
		t.Fatalf("Graph was asked to redirect with %s (%v)", req.Body, err)
	}
	p.waitJS("the redirected call in Recently ended", fmt.Sprintf(
		`!document.querySelector(%q) && document.querySelector(%q)?.textContent === "redirected by alice to +14255550142"`,
		rowSel(ringing), endedSel(ringing)+" .ended-by"), stepTimeout)

	// Transfer the established call to a person by sign-in name, picked
	// from the targets used lately after the first transfer fails.
	person := s.sim.Users()[5]
	s.sim.SetUnreachable(false, "+14255550142")
	p.openDialog("transfer", talking)
	p.waitJS("the recent target", `document.querySelector("#target-form button[data-target='+14255550142']")`, stepTimeout)
	p.click(`#target-form button[data-target='+14255550142']`)
	p.waitJS("the recent target picked", `!document.querySelector("#target-send").disabled &&
		document.querySelector("#target-form input[name=target]").value === "+14255550142"`, stepTimeout)
	p.click("#target-send")
	s.waitAction(http.MethodPost, talking, "/transfer")
	waitFor(t, "the failed transfer on the server", stepTimeout, func() bool {
		c, _ := s.srv().View().Get(talking)
		return c.Result != nil && c.Result.Subcode == 7000
	})
	p.waitJS("the row back in established", fmt.Sprintf(
		`document.querySelector(%q)?.dataset.state === "established"`, rowSel(talking)), stepTimeout)

	release := s.relay.holdWhere(func(body []byte) bool { return endsCall(body, talking) })
	defer release()
	p.openDialog("transfer", talking)
	p.typeTarget(person.UPN)
	p.waitJS("the sign-in name accepted", `!document.querySelector("#target-send").disabled`, stepTimeout)
	p.click("#target-send")
	p.waitJS("the row in transferAccepted", fmt.Sprintf(`document.querySelector(%q)?.dataset.state === "transferAccepted"`, rowSel(talking)), stepTimeout)
	p.screenshot(t.Name() + "-transferring")
	release()
	p.waitJS("the transferred call in Recently ended, saying so", fmt.Sprintf(
		`!document.querySelector(%q) && document.querySelector(%q)?.textContent === %q &&
		 document.querySelector(%q)?.textContent.includes("transfer completed") &&
		 document.querySelector(%q)?.dataset.category === "transfer"`,
		rowSel(talking), endedSel(talking)+" .ended-by", "transferred by alice to "+person.UPN,
		endedSel(talking)+" .reason", endedSel(talking)), stepTimeout)
	if info, _ := s.sim.Call(talking); len(info.TransferTargets) != 2 || info.TransferTargets[1].ID != person.ID {
		t.Fatalf("Graph was asked to transfer to %+v, want %s (looked up by sign-in name)", info.TransferTargets, person.ID)
	}
	p.screenshot(t.Name() + "-ended")
}

// TestATransferGraphReportsReadsAsATransfer plays the consultative
// transfer of Graph's reference: the call ends with a terminationReason and
// no resultInfo; its ended row must say it was transferred.
func TestATransferGraphReportsReadsAsATransfer(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "victor")
	ctx := testContext(t)
	const id = "3d1f0b00-5555-4e6f-8a7b-456789abcdef"
	note := func(changeType, data string) []byte {
		return []byte(`{"@odata.type": "microsoft.graph.commsNotifications", "value": [{"@odata.type": "#microsoft.graph.commsNotification",
			"changeType": "` + changeType + `", "resourceUrl": "/communications/calls/` + id + `", "resourceData": {"@odata.type": "#microsoft.graph.call", ` + data + `}}]}`)
	}
	for _, b := range [][]byte{
		note("created", `"state": "incoming", "direction": "incoming", "source": {"identity": {"user": {"id": "u-9", "displayName": "Consulting Caller"}}},
			"targets": [{"identity": {"application": {"id": "client-1", "displayName": "Bot"}}}]`),
		note("updated", `"state": "established"`),
		note("updated", `"state": "transferring"`),
		note("updated", `"state": "established", "resultInfo": {"code": 500, "subCode": 7700, "message": "transfer failed"}`),
		note("updated", `"state": "transferring"`),
		note("updated", `"state": "transferAccepted"`),
		note("deleted", `"state": "terminated", "terminationReason": "AppTransferred"`),
	} {
		if err := s.post(ctx, http.DefaultClient, b); err != nil {
			t.Fatal(err)
		}
	}
	p.waitJS("the ended row saying the bot transferred the call", fmt.Sprintf(
		`document.querySelector(%q)?.textContent.includes("The call was transferred by the bot.") &&
		 document.querySelector(%q)?.textContent === "AppTransferred"`, endedSel(id)+" .reason", endedSel(id)+" .raw"), stepTimeout)
	var text string
	p.eval(fmt.Sprintf(`document.querySelector(%q).textContent`, endedSel(id)), &text)
	if strings.Contains(text, "no reason") || strings.Contains(text, "7700") {
		t.Fatalf("the transferred call reads %q", text)
	}
}

func TestGroupCallParticipantsAndMute(t *testing.T) {
	s := startStack(t, stackOptions{})
	p := openPage(t)
	p.signIn(s, "alice")
	ctx := testContext(t)
	ada := graphsim.Party{ID: "ada-7", DisplayName: "Ada Byron"}
	bob := graphsim.Party{Kind: graphsim.PartyPhone, ID: "+14255550177"}
	id, err := s.sim.StartOutgoing(ctx, graphsim.CallSpec{Group: true, Subject: "Weekly sync", Participants: []graphsim.Party{ada, bob}})
	if err != nil {
		t.Fatal(err)
	}
	p.waitJS("the group call's row", liveStatesAre(map[string]shownRow{id: {"established", "Weekly sync"}}), stepTimeout)
	p.click(button("details", id))
	p.waitJS("its three participants", `document.querySelectorAll("#participants li.participant").length === 3 &&
		document.querySelector("#participants").textContent.includes("Ada Byron") &&
		document.querySelector("#participants").textContent.includes("+14255550177") &&
		document.querySelector("#participants").textContent.includes("the bot")`, stepTimeout)
	var adaID string
	p.eval(`Array.from(document.querySelectorAll("#participants li.participant")).find(li => li.textContent.includes("Ada Byron")).dataset.participant`, &adaID)
	if adaID == "" {
		t.Fatal("Ada's participant id is not on her row")
	}
	var offered int
	p.eval(`document.querySelectorAll("#participants button[data-action=mute]").length`, &offered)
	if offered != 2 {
		t.Fatalf("mute offered %d times, want twice (not for the bot)", offered)
	}
	p.click(fmt.Sprintf(`#participants button[data-action=mute][data-participant=%q]`, adaID))
	s.waitAction(http.MethodPost, id, "/participants/"+adaID+"/mute")
	p.waitJS("Ada muted, and no Mute button for her", fmt.Sprintf(`document.querySelector("#participants li[data-participant='%[1]s']")?.dataset.muted === "true" &&
		document.querySelector("#participants li[data-participant='%[1]s'] .p-muted") &&
		!document.querySelector("#participants button[data-participant='%[1]s']")`, adaID), stepTimeout)
	if info, _ := s.sim.Call(id); len(info.Muted) != 1 || info.Muted[0] != ada {
		t.Fatalf("Graph muted %+v, want Ada", info.Muted)
	}
	p.waitJS("the history telling who muted her", `document.querySelector("#detail-events")?.textContent.includes("mute by alice: Ada Byron: accepted") &&
		document.querySelector("#detail-events")?.textContent.includes("Ada Byron was muted")`, stepTimeout)
	p.screenshot(t.Name())
}
