package browsertest

import (
	"fmt"
	"net/http"
	"testing"

	"switchboard/backend/graphsim"
)

// TestClaimsAndPresenceBetweenTwoConsoles: alice and ada each have a
// console open (two browsers); each sees the other in the header. alice
// opens a hang-up: ada's row says "alice is hanging up", and ada's own
// hang-up asks first, naming alice; ada acts anyway.
func TestClaimsAndPresenceBetweenTwoConsoles(t *testing.T) {
	s := startStack(t, stackOptions{})
	alice := openPage(t)
	alice.signIn(s, "alice")
	ada := openPage(t)
	ada.signIn(s, "ada")
	ctx := testContext(t)

	id, err := s.sim.StartOutgoing(ctx, graphsim.CallSpec{Subject: "Both want it"})
	if err != nil {
		t.Fatal(err)
	}
	row := map[string]shownRow{id: {"established", "Both want it"}}
	alice.waitJS("the row", liveStatesAre(row), stepTimeout)
	ada.waitJS("the row", liveStatesAre(row), stepTimeout)
	alice.waitJS("ada in alice's header", `document.querySelector("#presence .people")?.textContent === "ada"`, stepTimeout)
	ada.waitJS("alice in ada's header", `document.querySelector("#presence .people")?.textContent === "alice"`, stepTimeout)

	alice.openDialog("hangup", id)
	ada.waitJS("alice's claim on ada's row", fmt.Sprintf(`document.querySelector(%q)?.textContent === "alice is hanging up" &&
		document.querySelector(%q).classList.contains("claimed")`, rowSel(id)+" .flag.claim", rowSel(id)), stepTimeout)
	ada.screenshot(t.Name() + "-claimed-row")

	// ada's hang-up asks first, naming alice; ada leaves it to her.
	ada.openDialog("hangup", id)
	ada.waitJS("the dialog naming alice", `document.querySelector("#dialog-claimed")?.textContent.startsWith("alice is hanging up this call") &&
		document.activeElement?.id === "dialog-first" && document.activeElement.dataset.action === "override"`, stepTimeout)
	ada.screenshot(t.Name() + "-asks")
	ada.click("#dialog-cancel")
	ada.waitJS("ada's dialog closed", `!document.querySelector("#dialog")`, stepTimeout)

	// alice closes her dialog: her claim goes from ada's row. ada opens a
	// transfer: alice's row says so, and ada's dialog asks nothing more.
	alice.click("#dialog-cancel")
	ada.waitJS("the claim gone from ada's row", fmt.Sprintf(`document.querySelector(%q) && !document.querySelector(%q)`,
		rowSel(id), rowSel(id)+" .flag.claim"), stepTimeout)
	ada.openDialog("transfer", id)
	alice.waitJS("ada's claim on alice's row", fmt.Sprintf(`document.querySelector(%q)?.textContent === "ada is transferring"`,
		rowSel(id)+" .flag.claim"), stepTimeout)
	ada.waitJS("the target form, no question", `document.querySelector("#target-form") && !document.querySelector("#dialog-claimed")`, stepTimeout)
	ada.click("#dialog-cancel")

	// alice claims again; ada acts anyway, once she says she means it.
	alice.waitJS("ada's claim released", fmt.Sprintf(`!document.querySelector(%q)`, rowSel(id)+" .flag.claim"), stepTimeout)
	alice.openDialog("hangup", id)
	ada.waitJS("alice's claim again", fmt.Sprintf(`document.querySelector(%q)?.textContent === "alice is hanging up"`,
		rowSel(id)+" .flag.claim"), stepTimeout)
	ada.openDialog("hangup", id)
	ada.waitJS("the question", `document.activeElement?.dataset.action === "override"`, stepTimeout)
	if n := len(s.actions(0)); n != 0 {
		t.Fatalf("Graph was asked %d times before anyone confirmed", n)
	}
	ada.click("#dialog-first")
	ada.waitJS("the hang-up offered", `document.activeElement?.id === "dialog-first" &&
		document.activeElement.dataset.action === "hangup" && !document.querySelector("#dialog-claimed")`, stepTimeout)
	ada.click("#dialog-first")
	s.waitAction(http.MethodDelete, id, "")
	ada.waitJS("the call hung up by ada", fmt.Sprintf(`document.querySelector(%q)?.textContent === "hung up by ada"`,
		endedSel(id)+" .ended-by"), stepTimeout)
	alice.waitJS("alice's dialog saying the call ended meanwhile", `document.querySelector("#dialog-gone")`, stepTimeout)
	alice.click("#dialog-first") // Close
	alice.waitJS("alice's dialog closed", `!document.querySelector("#dialog")`, stepTimeout)
}
