package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// opUser names user look-ups in errors and in Config.Observe.
const opUser = "user"

// User is a directory user, as far as redirects and transfers need one.
type User struct {
	// ID is the user's object id, which Graph's call APIs take.
	ID string `json:"id"`
	// DisplayName is how Teams shows the user.
	DisplayName string `json:"displayName"`
	// UserPrincipalName is the user's sign-in name.
	UserPrincipalName string `json:"userPrincipalName"`
}

// User looks a user up by object id or sign-in name (GET /users/{id |
// userPrincipalName}). Redirect and Transfer take an object id, and people
// know each other by sign-in name. The application needs the User.Read.All
// permission. A user Graph does not know gives an error for which
// IsNotFound is true.
func (c *Client) User(ctx context.Context, idOrUPN string) (User, error) {
	if err := checkCallID(opUser, idOrUPN); err != nil {
		return User{}, err
	}
	path := "/users/" + url.PathEscape(idOrUPN) + "?$select=id,displayName,userPrincipalName"
	body, err := c.do(ctx, &op{name: opUser, method: http.MethodGet, callID: idOrUPN, path: path, idempotent: true})
	if err != nil {
		return User{}, err
	}
	var u User
	if err := json.Unmarshal(body, &u); err != nil {
		return User{}, fmt.Errorf("graph: user %s: response is not a user: %w", idOrUPN, err)
	}
	if strings.TrimSpace(u.ID) == "" {
		return User{}, fmt.Errorf("graph: user %s: Graph answered without an id", idOrUPN)
	}
	return u, nil
}
