package graphsim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkCallLifecycle measures a whole call as the simulator plays it:
// created, establishing, established and deleted, each signed and delivered
// over loopback HTTP to a webhook that accepts everything.
func BenchmarkCallLifecycle(b *testing.B) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	defer hook.Close()
	sim, err := New(Config{CallbackURL: hook.URL, TenantID: testTenant, ClientID: testClient,
		ClientSecret: testSecret, AppID: testApp, PlainWire: true})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		id, err := sim.StartIncoming(ctx, CallSpec{})
		if err != nil {
			b.Fatal(err)
		}
		if err := sim.Establish(ctx, id); err != nil {
			b.Fatal(err)
		}
		if err := sim.RemoteHangUp(ctx, id, 200, 4097); err != nil {
			b.Fatal(err)
		}
	}
}
