package server

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"switchboard/backend/graphsim"
)

// The demo's made-up tenant and bot identities. They name nothing real.
const (
	demoTenant = "5a1e0000-0000-4000-8000-00000000de70"
	demoClient = "5b0a0000-0000-4000-8000-0000000000b0"
)

// demoSim is the Graph simulator the demo runs on a loopback listener.
type demoSim struct {
	sim    *graphsim.Sim
	srv    *http.Server
	secret string
}

func startDemoSim(cfg Config, log *slog.Logger) (*demoSim, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("server: demo simulator listener: %w", err)
	}
	secret := rand.Text()
	sim, err := graphsim.New(graphsim.Config{
		CallbackURL: cfg.CallbackURL(), Rate: cfg.SimRate, Seed: cfg.SimSeed, IDSalt: idSalt(),
		TenantID: demoTenant, ClientID: demoClient, ClientSecret: secret, AppID: demoClient,
		PublicURL: "http://" + ln.Addr().String(), Logger: log.With("component", "graphsim"),
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	d := &demoSim{sim: sim, srv: &http.Server{Handler: sim.Handler()}, secret: secret}
	go func() {
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo simulator stopped", "err", err)
		}
	}()
	log.Info("Graph simulator started", "url", sim.GraphURL(), "rate_per_minute", cfg.SimRate, "seed", cfg.SimSeed)
	return d, nil
}

// idSalt is a fresh salt for the simulator's call ids on every start: the
// event log on disk outlives the process, and a restart with the same seed
// would otherwise replay the ids of calls it already holds (ended calls
// stay ended, so those new calls would never show).
func idSalt() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) | 1
}

// pointAt returns cfg with the Graph client aimed at the simulator.
func (d *demoSim) pointAt(cfg Config) Config {
	cfg.GraphURL, cfg.TokenURL = d.sim.GraphURL(), d.sim.TokenURL()
	cfg.TenantID, cfg.ClientID, cfg.ClientSecret = demoTenant, demoClient, d.secret
	cfg.BotAppID, cfg.NotifyTenants, cfg.NotifyJWKSURL = demoClient, []string{demoTenant}, d.sim.JWKSURL()
	return cfg
}

func (d *demoSim) run(ctx context.Context) error {
	err := d.sim.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (d *demoSim) close() {
	d.srv.Close()
	d.sim.Close()
}
