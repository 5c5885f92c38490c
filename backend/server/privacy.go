package server

import (
	"context"
	"fmt"
	"net/http"

	"switchboard/backend/auth"
	"switchboard/backend/feed"
	"switchboard/backend/masking"
)

// openPrivacy binds the privacy setting (the flag's default, an admin's
// choice over it) and keeps the feed's masking in step with it.
func (s *Server) openPrivacy(ctx context.Context, hub *feed.Hub) (*masking.Setting, error) {
	setting, err := masking.Open(ctx, s.nats.JS, masking.Options{Default: s.cfg.MaskForViewers, Replicas: s.cfg.Replicas,
		Audit: s.audit, OnChange: hub.SetMasking, Logger: s.log})
	if err != nil {
		return nil, fmt.Errorf("server: privacy setting: %w", err)
	}
	hub.SetMasking(setting.On())
	return setting, nil
}

// viewerOnly reports whether a feed is a viewer's, whose console reads
// external parties masked while masking is on. Roles above viewer always
// read them in full.
func viewerOnly(r *http.Request) bool {
	u, ok := auth.UserFrom(r.Context())
	return !ok || !u.Role.Allows(auth.Supervisor)
}
