package graphsim

import (
	"context"
	"math"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

var uuidShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

var testBot = Party{Kind: PartyApplication, ID: testApp, DisplayName: DefaultBotName}

func drawPlans(seed int64, n int) []plan {
	g := newGenerator(seed, 10, testBot)
	plans := make([]plan, n)
	for i := range plans {
		plans[i] = g.next()
	}
	return plans
}

func TestGeneratorIsDeterministic(t *testing.T) {
	a, b, c := drawPlans(7, 300), drawPlans(7, 300), drawPlans(8, 300)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed drew different traffic")
	}
	for i := range 5 {
		if a[i].Spec.ID == c[i].Spec.ID || a[i].Gap == c[i].Gap {
			t.Fatalf("seeds 7 and 8 drew the same call %d: %+v", i, a[i].Spec)
		}
	}
}

// TestIDSaltGivesTheSameTrafficOtherIDs: a salt changes the ids of calls
// and chains, and nothing else the seed chose.
func TestIDSaltGivesTheSameTrafficOtherIDs(t *testing.T) {
	plain := drawPlans(7, 200)
	g := newGenerator(7, 10, testBot)
	g.salt = 0x5eed
	seen := map[string]bool{}
	for _, p := range plain {
		seen[p.Spec.ID], seen[p.Spec.ChainID] = true, true
	}
	for i := range plain {
		salted := g.next()
		if seen[salted.Spec.ID] || seen[salted.Spec.ChainID] || !uuidShape.MatchString(salted.Spec.ID) {
			t.Fatalf("call %d: salted ids %s / %s reuse the unsalted traffic's or are not UUIDs", i, salted.Spec.ID, salted.Spec.ChainID)
		}
		salted.Spec.ID, salted.Spec.ChainID = plain[i].Spec.ID, plain[i].Spec.ChainID
		if !reflect.DeepEqual(salted, plain[i]) {
			t.Fatalf("call %d: the salt changed more than the ids:\n%+v\n%+v", i, salted, plain[i])
		}
	}
}

// TestGeneratorDrawsRealisticTraffic checks the shape of a long run of
// generated calls: every plan is well formed, every kind of call shows,
// and the rates give the demo its 10 to 30 live calls.
func TestGeneratorDrawsRealisticTraffic(t *testing.T) {
	plans := drawPlans(7, 3000)
	counts := map[string]int{}
	ids := map[string]bool{}
	var gaps, lives time.Duration
	for i, p := range plans {
		if err := p.Spec.validate(); err != nil {
			t.Fatalf("plan %d: %v", i, err)
		}
		if !uuidShape.MatchString(p.Spec.ID) || !uuidShape.MatchString(p.Spec.ChainID) || ids[p.Spec.ID] {
			t.Fatalf("plan %d: ids %q %q not fresh UUIDs", i, p.Spec.ID, p.Spec.ChainID)
		}
		ids[p.Spec.ID] = true
		if p.Gap <= 0 {
			t.Fatalf("plan %d: gap %v", i, p.Gap)
		}
		gaps += p.Gap
		countKind(t, counts, p)
		lives += checkScript(t, i, p, counts)
	}
	for _, kind := range []string{"incoming phone", "incoming user", "group", "meeting", "outgoing",
		"setup failure", "hold", "transfer ok", "transfer failed", "roster", "failure end"} {
		if counts[kind] == 0 {
			t.Errorf("no %s call in %d plans: %v", kind, len(plans), counts)
		}
	}
	if counts["outgoing"] > len(plans)/4 || counts["failure end"] > len(plans)/10 {
		t.Errorf("outgoing calls and failures should be a minority: %v", counts)
	}
	meanGap := gaps / time.Duration(len(plans))
	if meanGap < 5*time.Second || meanGap > 7*time.Second {
		t.Errorf("mean gap at 10 calls/min = %v, want about 6s", meanGap)
	}
	established := len(plans) - counts["setup failure"]
	live := 10 * (lives / time.Duration(established)).Minutes() // Little's law at 10 calls/min
	if live < 10 || live > 30 || math.IsNaN(live) {
		t.Errorf("about %.1f live calls at 10 calls/min, want 10 to 30", live)
	}
}

func countKind(t *testing.T, counts map[string]int, p plan) {
	t.Helper()
	switch {
	case p.Outgoing:
		counts["outgoing"]++
		if p.Spec.Source != testBot {
			t.Fatalf("outgoing call from %+v, want the bot", p.Spec.Source)
		}
		if p.SetupFailure != nil {
			counts["setup failure"]++
			if p.SetupFailure.Code != 480 && p.SetupFailure.Code != 500 {
				t.Fatalf("setup failure %+v", p.SetupFailure)
			}
		}
	case len(p.Spec.Targets) != 1 || p.Spec.Targets[0] != testBot:
		t.Fatalf("incoming call to %+v, want the bot", p.Spec.Targets)
	case p.Spec.Group:
		counts["group"]++
		if p.Spec.MeetingID != "" {
			counts["meeting"]++
		}
		if len(p.Spec.Participants) < 2 {
			t.Fatalf("group call with roster %+v", p.Spec.Participants)
		}
	case p.Spec.Source.Kind == PartyPhone:
		counts["incoming phone"]++
		if !regexp.MustCompile(`^\+1\d{3}55501\d\d$`).MatchString(p.Spec.Source.ID) {
			t.Fatalf("phone number %q is not a fictional 555-01xx number", p.Spec.Source.ID)
		}
	default:
		counts["incoming user"]++
	}
}

// checkScript checks a plan's steps and returns the call's life once established.
func checkScript(t *testing.T, i int, p plan, counts map[string]int) time.Duration {
	t.Helper()
	if p.SetupFailure != nil {
		if len(p.Steps) != 0 || p.SetupTime <= 0 {
			t.Fatalf("plan %d: failed setup with steps %+v after %v", i, p.Steps, p.SetupTime)
		}
		return 0
	}
	if len(p.Steps) == 0 {
		t.Fatalf("plan %d: no script", i)
	}
	var life time.Duration
	onHold := false
	for j, st := range p.Steps {
		if st.After < 0 {
			t.Fatalf("plan %d step %d waits %v", i, j, st.After)
		}
		life += st.After
		last := j == len(p.Steps)-1
		switch st.Kind {
		case stepHold:
			counts["hold"]++
			onHold = true
		case stepResume:
			if !onHold {
				t.Fatalf("plan %d: resume without hold", i)
			}
			onHold = false
		case stepTransfer:
			if st.Succeed {
				counts["transfer ok"]++
				if !last {
					t.Fatalf("plan %d: steps after a successful transfer", i)
				}
			} else {
				counts["transfer failed"]++
			}
		case stepRoster:
			counts["roster"]++
		case stepHangUp:
			if !last {
				t.Fatalf("plan %d: steps after the hang-up", i)
			}
			if _, ok := reasonMessages[reasonKey{st.Result.Code, st.Result.Subcode}]; !ok {
				t.Fatalf("plan %d ends with undocumented %d/%d", i, st.Result.Code, st.Result.Subcode)
			}
			if st.Result.Code != 200 {
				counts["failure end"]++
			}
		}
	}
	if onHold && p.Steps[len(p.Steps)-1].Kind != stepHangUp {
		t.Fatalf("plan %d: left on hold", i)
	}
	shortest := minLife // a successful transfer ends the call early
	if p.Steps[len(p.Steps)-1].Kind == stepTransfer {
		shortest = minLife / 2
	}
	if life < shortest || life > maxLife {
		t.Fatalf("plan %d lives %v, want %v to %v", i, life, shortest, maxLife)
	}
	return life
}

func TestPlayRunsTheScript(t *testing.T) {
	h := newHarness(t, nil)
	ms := time.Millisecond
	tests := []struct {
		name   string
		plan   plan
		answer bool
		want   []string
		result string // code/subcode of the end
	}{
		{
			name: "incoming with hold and failed transfer",
			plan: plan{Spec: CallSpec{ID: "play-1"}, Steps: []step{
				{After: ms, Kind: stepHold}, {After: ms, Kind: stepResume},
				{After: ms, Kind: stepTransfer, Result: reasonResult(500, 7700)},
				{After: ms, Kind: stepHangUp, Result: reasonResult(200, 4521)},
			}},
			answer: true,
			want: []string{"created/incoming", "updated/establishing", "updated/established", "updated/hold",
				"updated/established", "updated/transferring", "updated/established", "deleted/terminated"},
			result: "200/4521",
		},
		{
			name: "outgoing transferred",
			plan: plan{Outgoing: true, Spec: CallSpec{ID: "play-2"}, Steps: []step{
				{After: ms, Kind: stepTransfer, Succeed: true},
			}},
			want:   []string{"updated/establishing", "updated/established", "updated/transferring", "updated/transferAccepted", "deleted/terminated"},
			result: "0/7015",
		},
		{
			name:   "outgoing that fails to set up",
			plan:   plan{Outgoing: true, Spec: CallSpec{ID: "play-3"}, SetupFailure: &Result{480, 10076, "Callee couldn't be reached."}, SetupTime: ms},
			want:   []string{"updated/establishing", "deleted/terminated"},
			result: "480/10076",
		},
		{
			name: "group call",
			plan: plan{Spec: CallSpec{ID: "play-4", Group: true}, Steps: []step{
				{After: ms, Kind: stepRoster, Join: []Party{{ID: "u9"}}},
				{After: ms, Kind: stepHangUp, Result: reasonResult(200, 5002)},
			}},
			answer: true,
			want: []string{"created/incoming", "updated/establishing", "updated/established", "updated/",
				"updated/", "deleted/terminated"},
			result: "200/5002",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan struct{})
			go func() {
				defer close(done)
				h.sim.play(testCtx(t), tt.plan)
			}()
			id := tt.plan.Spec.ID
			var got []string
			var last testNote
			for range tt.want {
				last = h.rcv.nextCall(t, id)
				s := "" // participants notifications have an array, no state
				if !last.participants() {
					s = last.state(t)
				}
				got = append(got, last.ChangeType+"/"+s)
				if tt.answer && s == "incoming" {
					if st, body := h.do(t, "POST", "/v1.0/communications/calls/"+id+"/answer", answerBodyJSON); st != 202 {
						t.Fatalf("answer: %d %s", st, body)
					}
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("notifications = %q, want %q", got, tt.want)
			}
			ri := last.call(t)["resultInfo"].(map[string]any)
			if r := ri["code"].(string) + "/" + ri["subcode"].(string); r != tt.result {
				t.Fatalf("ended with %s, want %s", r, tt.result)
			}
			select {
			case <-done:
			case <-time.After(waitLimit):
				t.Fatal("play did not return after the script ended")
			}
		})
	}
}

func TestPlayStopsWhenTheCallEnds(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.IncomingTimeout = 200 * time.Millisecond })
	long := []step{{After: time.Hour, Kind: stepHangUp, Result: reasonResult(200, 4097)}}
	tests := []struct {
		name string
		end  func(t *testing.T, id string)
	}{
		{"bot hangs up", func(t *testing.T, id string) {
			h.do(t, "POST", "/v1.0/communications/calls/"+id+"/answer", answerBodyJSON)
			h.expectStates(t, id, "updated/establishing", "updated/established")
			if st, _ := h.do(t, "DELETE", "/v1.0/communications/calls/"+id, ""); st != 204 {
				t.Fatalf("DELETE: %d", st)
			}
		}},
		{"bot rejects", func(t *testing.T, id string) {
			if st, _ := h.do(t, "POST", "/v1.0/communications/calls/"+id+"/reject", `{"reason":"busy"}`); st != 202 {
				t.Fatalf("reject: %d", st)
			}
		}},
		{"nobody answers", func(*testing.T, string) {}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "stop-" + string(rune('a'+i))
			done := make(chan struct{})
			go func() {
				defer close(done)
				h.sim.play(testCtx(t), plan{Spec: CallSpec{ID: id}, Steps: long})
			}()
			h.rcv.nextCall(t, id) // created
			tt.end(t, id)
			select {
			case <-done:
			case <-time.After(waitLimit):
				t.Fatal("play went on after the call ended")
			}
			if c, _ := h.sim.Call(id); c.State != "terminated" {
				t.Fatalf("state = %q", c.State)
			}
		})
	}
}

func TestRunGeneratesWellFormedTraffic(t *testing.T) {
	const seed = 99
	h := newHarness(t, func(c *Config) { c.Rate = 6000; c.Seed = seed; c.PlainWire = false })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- h.sim.Run(ctx) }()

	// The first calls Run makes are the generator's first plans.
	first := map[string]bool{}
	for _, p := range drawPlans(seed, 5) {
		first[p.Spec.ID] = true
	}
	verifier := notificationVerifier(t, h.sim, testApp)
	seen := map[string]bool{}
	for i := 0; i < 2000 && !allSeen(first, seen); i++ {
		p := h.rcv.next(t)
		if _, err := verifier.Verify(testCtx(t), strings.TrimPrefix(p.auth, "Bearer ")); err != nil {
			t.Fatalf("token of %s: %v", p.body, err)
		}
		n := p.note(t)
		if p.env.ODataType != odataNotifications || n.ODataType != odataNotification ||
			!uuidShape.MatchString(n.callID()) || n.Resource != strings.Replace(n.ResourceURL, "/communications/", "/app/", 1) {
			t.Fatalf("malformed notification: %s", p.body)
		}
		switch n.ChangeType {
		case "created", "updated", "deleted":
		default:
			t.Fatalf("changeType %q: %s", n.ChangeType, p.body)
		}
		if !n.participants() && n.state(t) == "" && n.ChangeType != "deleted" {
			t.Fatalf("update without a state: %s", p.body)
		}
		seen[n.callID()] = true
	}
	if !allSeen(first, seen) {
		t.Fatalf("the first generated calls %v never showed; saw %d calls", first, len(seen))
	}
	if err := h.sim.Run(ctx); err == nil {
		t.Fatal("a second concurrent Run was accepted")
	}
	cancel()
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after its context ended")
	}
}

func (s *Sim) isRunning() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

func allSeen(want, seen map[string]bool) bool {
	for id := range want {
		if !seen[id] {
			return false
		}
	}
	return true
}

func TestRunStopsOnClose(t *testing.T) {
	h := newHarness(t, nil) // Rate 0: Run generates nothing and waits
	runErr := make(chan error, 1)
	go func() { runErr <- h.sim.Run(context.Background()) }()
	for i := 0; i < 1000 && !h.sim.isRunning(); i++ {
		time.Sleep(time.Millisecond)
	}
	if !h.sim.isRunning() {
		t.Fatal("Run did not start")
	}
	h.sim.Close()
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after Close")
	}
	if _, err := h.sim.StartIncoming(testCtx(t), CallSpec{}); err == nil {
		t.Fatal("a closed simulator started a call")
	}
	if err := h.sim.Run(context.Background()); err == nil {
		t.Fatal("a closed simulator ran")
	}
	st, body := h.do(t, "GET", "/v1.0/communications/calls/x", "")
	if st != http.StatusServiceUnavailable || graphErr(t, body).Code != "ServiceUnavailable" {
		t.Fatalf("GET on a closed simulator: %d %s, want 503", st, body)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	good := Config{CallbackURL: "http://127.0.0.1:1/hook", TenantID: "t", ClientID: "c", ClientSecret: "s", AppID: "a"}
	tests := []struct {
		name string
		edit func(*Config)
		says string
	}{
		{"no callback", func(c *Config) { c.CallbackURL = "" }, "CallbackURL is required"},
		{"relative callback", func(c *Config) { c.CallbackURL = "/hook" }, "CallbackURL"},
		{"no tenant", func(c *Config) { c.TenantID = "" }, "TenantID is required"},
		{"no client", func(c *Config) { c.ClientID = "" }, "ClientID is required"},
		{"no secret", func(c *Config) { c.ClientSecret = "" }, "ClientSecret is required"},
		{"no app", func(c *Config) { c.AppID = "" }, "AppID is required"},
		{"negative rate", func(c *Config) { c.Rate = -1 }, "Rate"},
		{"NaN rate", func(c *Config) { c.Rate = math.NaN() }, "Rate"},
		{"negative timeout", func(c *Config) { c.IncomingTimeout = -time.Second }, "IncomingTimeout"},
		{"negative throttle", func(c *Config) { c.ThrottleEvery = -2 }, "ThrottleEvery"},
		{"bad public URL", func(c *Config) { c.PublicURL = "ftp://x" }, "PublicURL"},
	}
	for _, tt := range tests {
		cfg := good
		tt.edit(&cfg)
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: err = %v, want one saying %q", tt.name, err, tt.says)
		}
	}
	sim, err := New(good)
	if err != nil {
		t.Fatalf("good config: %v", err)
	}
	defer sim.Close()
	if sim.cfg.IncomingTimeout != DefaultIncomingTimeout || sim.cfg.KeepAliveTimeout != DefaultKeepAliveTimeout {
		t.Fatalf("defaults not applied: %+v", sim.cfg)
	}
	if err := sim.SetPublicURL("not a url"); err == nil {
		t.Fatal("SetPublicURL accepted a bad URL")
	}
}
