package reasons

import (
	"strconv"
	"strings"
	"switchboard/app/verbs"
	"testing"

	"switchboard/app/calls"
)

// seedTable is seed 000's "Call end reason codes" table, copied verbatim
// (code, subcode column, termination reason).
const seedTable = `200	4097	Call ended by the other participant in the call.
200	4521	Call ended by the other participant in peer-to-peer call.
200	5000	Removed from the conversation by another participant.
200	5001	The conversation has ended.
200	5002	The conversation has ended as all other participants have left the call.
200	5003	The conversation has ended.
200	5007	The conversation has ended as the initiator of the group call left the conversation.
200	5010	The conversation has ended as only one participant remained in the conversation.
200	5012	The conversation has ended as there are no participants in the incoming roster.
200	5013	The conversation has ended as no one else has joined the group call.
200	5014	The conversation has ended because we were unable to determine a potential host for the group call.
200	5020	The conversation has ended as there are no nonhidden participants in the incoming roster.
200	5030	The conversation has ended as the breakout room duration has elapsed.
200	5300	Participant was removed from the conversation by another participant.
200	5855	Participant waiting in lobby was removed from the conversation after lobby inactivity timeout.
200	7000	The conversation has ended by bot.
200	7015	Call ended as the transfer completed successfully.
200	10550	The conversation has ended by bot.
200	18503	The other participant in the peer-to-peer call left the conversation.
200	540000/560000	Call ended by the PSTN User.
408	8537	Keep Alive timeout, cleaned up inactive call.
408	1106	An acknowledgment wasn't received for the call acceptance in the allotted time.
408	10057	Call timed out due to no signaling from callee endpoints.
410	301005	Media connectivity failure.
480	10037	No callee endpoints were found.
480	10076	Callee couldn't be reached.
480	10134	Call rejected due to inability to route the call.
480	10199	Call rejected as private calling is disabled for the user.
500	1005	Server encountered connectivity error with Bot's media. Check media connectivity between Bot and Microsoft.`

type seedRow struct {
	code, subcode int
	text          string
}

// seedRows expands the table; a subcode cell "a/b" is one row per subcode.
func seedRows(t *testing.T) []seedRow {
	t.Helper()
	var rows []seedRow
	for line := range strings.SplitSeq(seedTable, "\n") {
		cols := strings.SplitN(line, "\t", 3)
		if len(cols) != 3 {
			t.Fatalf("bad seed line %q", line)
		}
		code, err := strconv.Atoi(cols[0])
		if err != nil {
			t.Fatalf("seed line %q: %v", line, err)
		}
		for sub := range strings.SplitSeq(cols[1], "/") {
			subcode, err := strconv.Atoi(sub)
			if err != nil {
				t.Fatalf("seed line %q: %v", line, err)
			}
			rows = append(rows, seedRow{code, subcode, cols[2]})
		}
	}
	return rows
}

func TestExplainEverySeedRow(t *testing.T) {
	rows := seedRows(t)
	if len(rows) != 30 {
		t.Fatalf("seed table has %d rows after expanding 540000/560000, want 30", len(rows))
	}
	for _, row := range rows {
		t.Run(strconv.Itoa(row.code)+"/"+strconv.Itoa(row.subcode), func(t *testing.T) {
			r := Explain(calls.Result{Code: row.code, Subcode: row.subcode})
			if !r.Known {
				t.Errorf("Known = false, want true")
			}
			if r.Text != row.text {
				t.Errorf("Text = %q, want %q", r.Text, row.text)
			}
			if r.Code != row.code || r.Subcode != row.subcode {
				t.Errorf("pair = %d/%d, want %d/%d", r.Code, r.Subcode, row.code, row.subcode)
			}
			if want := strconv.Itoa(row.code) + "/" + strconv.Itoa(row.subcode); r.Raw() != want {
				t.Errorf("Raw = %q, want %q", r.Raw(), want)
			}
		})
	}
}

func TestExplainCategories(t *testing.T) {
	tests := []struct {
		code, subcode int
		want          Category
	}{
		{200, 4097, EndedNormally},
		{200, 540000, EndedNormally},
		{200, 560000, EndedNormally},
		{200, 5855, Timeout},
		{200, 7000, EndedByBot},
		{200, 10550, EndedByBot},
		{200, 7015, Transfer},
		{408, 8537, Timeout},
		{408, 1106, Timeout},
		{408, 10057, Timeout},
		{410, 301005, MediaFailure},
		{480, 10037, Unreachable},
		{480, 10199, Unreachable},
		{500, 1005, MediaFailure},
	}
	for _, tt := range tests {
		if got := Explain(calls.Result{Code: tt.code, Subcode: tt.subcode}).Category; got != tt.want {
			t.Errorf("Explain(%d/%d).Category = %q, want %q", tt.code, tt.subcode, got, tt.want)
		}
	}
}

func TestExplainExtras(t *testing.T) {
	tests := []struct {
		code, subcode int
		text          string
		cat           Category
	}{
		{0, 0, "The call ended normally.", EndedNormally},
		{0, 7015, "Call ended as the transfer completed successfully.", Transfer},
		{500, 7000, "The transfer failed.", Transfer},
		{500, 7700, "The transfer failed: the transfer target could not be reached.", Transfer},
		{500, 7117, "The bot failed to join the call.", ServiceError},
		{400, 2203, "Graph rejected the request as malformed (bad request).", ServiceError},
		{408, 13025, "The request timed out.", Timeout},
	}
	for _, tt := range tests {
		r := Explain(calls.Result{Code: tt.code, Subcode: tt.subcode})
		if !r.Known || r.Text != tt.text || r.Category != tt.cat {
			t.Errorf("Explain(%d/%d) = %+v, want known %q in %q", tt.code, tt.subcode, r, tt.text, tt.cat)
		}
	}
}

func TestExplainFallsBackToTheCodeClass(t *testing.T) {
	tests := []struct {
		code, subcode int
		cat           Category
		raw           string
	}{
		{200, 1, EndedNormally, "200/1"},
		{204, 99, EndedNormally, "204/99"},
		{0, 42, EndedNormally, "0/42"},
		{408, 1, Timeout, "408/1"},
		{410, 2, MediaFailure, "410/2"},
		{480, 3, Unreachable, "480/3"},
		{500, 4, ServiceError, "500/4"},
		{503, 0, ServiceError, "503/0"},
		{403, 7504, Unknown, "403/7504"},
		{404, 8522, Unknown, "404/8522"},
		{-1, 0, Unknown, "-1/0"},
	}
	for _, tt := range tests {
		r := Explain(calls.Result{Code: tt.code, Subcode: tt.subcode})
		if r.Known {
			t.Errorf("Explain(%s).Known = true, want false", tt.raw)
		}
		if r.Category != tt.cat {
			t.Errorf("Explain(%s).Category = %q, want %q", tt.raw, r.Category, tt.cat)
		}
		if r.Raw() != tt.raw || !strings.HasSuffix(r.String(), "("+tt.raw+")") {
			t.Errorf("Explain(%s): Raw %q, String %q; want the raw pair shown", tt.raw, r.Raw(), r.String())
		}
		if r.Text == "" {
			t.Errorf("Explain(%s).Text is empty", tt.raw)
		}
	}
}

func TestExplainDiagCode(t *testing.T) {
	tests := []struct {
		name   string
		result calls.Result
		raw    string
		known  bool
	}{
		{"in a message", calls.Result{Message: "Call failed. DiagCode: 500#7117.@"}, "500/7117", true},
		{"no space", calls.Result{Message: "DiagCode:408#8537"}, "408/8537", true},
		{"unknown pair", calls.Result{Message: "x DiagCode: 503#1 y"}, "503/1", false},
		{"codes win over the message", calls.Result{Code: 200, Subcode: 5001, Message: "DiagCode: 500#7117"}, "200/5001", true},
		{"no diag code", calls.Result{Message: "The conversation has ended."}, "0/0", true},
		{"malformed", calls.Result{Message: "DiagCode: 500-7117"}, "0/0", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Explain(tt.result)
			if r.Raw() != tt.raw || r.Known != tt.known {
				t.Errorf("Explain(%+v) = %s known=%v, want %s known=%v", tt.result, r.Raw(), r.Known, tt.raw, tt.known)
			}
		})
	}
}

func TestForCall(t *testing.T) {
	tests := []struct {
		name string
		call calls.Call
		cat  Category
		raw  string
		text string
	}{
		{"normal end", calls.Call{Result: &calls.Result{Code: 200, Subcode: 4097}}, EndedNormally, "200/4097", ""},
		{"hung up by a supervisor", calls.Call{EndedBy: "alice", EndAction: verbs.HangUp,
			Result: &calls.Result{Code: 200, Subcode: 5001}}, EndedByBot, "200/5001", ""},
		{"no result", calls.Call{}, Unknown, "", "Graph gave no reason."},
		// The consultative transfer of call: transfer ends with a
		// terminationReason and no resultInfo.
		{"transferred by the bot", calls.Call{TerminationReason: "AppTransferred"}, Transfer, "AppTransferred", "The call was transferred by the bot."},
		{"replaced by the bot", calls.Call{TerminationReason: "AppInitiated"}, EndedByBot, "AppInitiated", "The bot ended the call."},
		{"an unknown termination reason is told as is", calls.Call{TerminationReason: "SomethingNew"}, Unknown, "SomethingNew", "Graph ended the call: SomethingNew."},
		{"both: the resultInfo first", calls.Call{TerminationReason: "AppTransferred", Result: &calls.Result{Subcode: 7015}}, Transfer, "0/7015", "Call ended as the transfer completed successfully."},
		{"transferred by a supervisor", calls.Call{EndedBy: "alice", EndAction: verbs.Transfer, Result: &calls.Result{Subcode: 7015}}, Transfer, "0/7015", ""},
		{"redirected by a supervisor: Graph gives nothing", calls.Call{EndedBy: "alice", EndAction: verbs.Redirect}, Transfer, "", "The bot redirected the call; Graph gave no reason."},
		{"rejected by a supervisor", calls.Call{EndedBy: "bob", EndAction: verbs.Reject}, EndedByBot, "", "Rejected. Graph gave no code."},
		{"rejected as busy: the reason is told", calls.Call{EndedBy: "bob", EndAction: verbs.Reject,
			LastAction: &calls.Action{Verb: verbs.Reject, Reason: "busy", Actor: "bob", Status: 202}}, EndedByBot, "",
			"Rejected as busy: the caller was told the bot is busy. Graph gave no code."},
		{"rejected as forbidden", calls.Call{EndedBy: "bob", EndAction: verbs.Reject,
			LastAction: &calls.Action{Verb: verbs.Reject, Reason: "forbidden", Actor: "bob", Status: 202}}, EndedByBot, "",
			"Rejected as forbidden: the caller was told they may not call. Graph gave no code."},
		{"a ghost call is reconciled, not unknown", calls.Call{Reconciled: true, Result: &calls.Result{Code: 404, Subcode: 8522,
			Message: "Graph no longer knows this call; Switchboard ended it (reconciled)"}}, Reconciled, "404/8522",
			"Switchboard ended the call: Graph no longer knew it."},
		{"transfer failed in earlier pages", calls.Call{Result: &calls.Result{Code: 500, Subcode: 1000}}, Transfer, "500/1000", "The transfer failed."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ForCall(tt.call)
			if r.Category != tt.cat || r.Raw() != tt.raw {
				t.Errorf("ForCall = %s %q, want %s %q", r.Raw(), r.Category, tt.raw, tt.cat)
			}
			if tt.text != "" && r.Text != tt.text {
				t.Errorf("ForCall text = %q, want %q", r.Text, tt.text)
			}
		})
	}
}

func TestCategoriesHaveLabels(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Categories() {
		l := c.Label()
		if l == "" || seen[l] {
			t.Errorf("category %q has label %q (empty or duplicate)", c, l)
		}
		seen[l] = true
	}
	if got := EndedByBot.Label(); got != "ended by the bot or a supervisor" {
		t.Errorf("EndedByBot.Label() = %q", got)
	}
}
