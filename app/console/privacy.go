package console

import (
	"context"
	"time"
)

// PrivacyChoice is an admin's choice of masking.
type PrivacyChoice struct {
	MaskForViewers bool      `json:"maskForViewers"`
	By             string    `json:"by,omitempty"`
	At             time.Time `json:"at,omitzero"`
}

// Privacy is the privacy setting: whether viewers read external numbers
// and names masked, the server's default, and the admin's choice if any.
type Privacy struct {
	MaskForViewers bool           `json:"maskForViewers"`
	Default        bool           `json:"default"`
	Chosen         *PrivacyChoice `json:"chosen,omitempty"`
}

// Privacy reads the privacy setting.
func (c *Client) Privacy(ctx context.Context) (Privacy, error) {
	var p Privacy
	err := c.do(ctx, "GET", "/api/settings/privacy", nil, &p)
	return p, err
}

// SetPrivacy changes the privacy setting (admins only): on or off, or nil
// to go back to the server's default.
func (c *Client) SetPrivacy(ctx context.Context, mask *bool) (Privacy, error) {
	var p Privacy
	err := c.do(ctx, "PUT", "/api/settings/privacy", map[string]*bool{"maskForViewers": mask}, &p)
	return p, err
}
