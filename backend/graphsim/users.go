package graphsim

import (
	"net/http"
	"slices"
	"strings"
)

// DirectoryUser is a user of the simulated tenant's directory: the people
// calls come from and can be redirected or transferred to.
type DirectoryUser struct {
	// ID is the user's object id.
	ID string `json:"id"`
	// DisplayName is how Teams shows the user.
	DisplayName string `json:"displayName"`
	// UPN is the user's sign-in name, such as adele.vance@contoso.example.
	UPN string `json:"userPrincipalName"`
}

// directoryDomain is the simulated tenant's domain; .example names nothing real.
const directoryDomain = "contoso.example"

// upnOf derives a sign-in name from a display name: "Adele Vance" becomes
// adele.vance@contoso.example.
func upnOf(displayName string) string {
	return strings.ToLower(strings.Join(strings.Fields(displayName), ".")) + "@" + directoryDomain
}

// Users lists the directory, in no particular order.
func (s *Sim) Users() []DirectoryUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []DirectoryUser
	for k, u := range s.directory {
		if k == strings.ToLower(u.ID) {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b DirectoryUser) int { return strings.Compare(a.UPN, b.UPN) })
	return out
}

// AddUser adds u to the directory (its UPN derived from its display name
// when empty).
func (s *Sim) AddUser(u DirectoryUser) DirectoryUser {
	if u.UPN == "" {
		u.UPN = upnOf(u.DisplayName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addUserLocked(u)
	return u
}

func (s *Sim) addUserLocked(u DirectoryUser) {
	s.directory[strings.ToLower(u.ID)] = u
	s.directory[strings.ToLower(u.UPN)] = u
}

func (s *Sim) directoryLookupLocked(idOrUPN string) (DirectoryUser, bool) {
	u, ok := s.directory[strings.ToLower(idOrUPN)]
	return u, ok
}

// getUser is GET /users/{id | userPrincipalName}.
func (s *Sim) getUser(r *http.Request, _ []byte) (int, any, error) {
	key := r.PathValue("user")
	s.mu.Lock()
	u, ok := s.directoryLookupLocked(key)
	s.mu.Unlock()
	if !ok {
		return 0, nil, &Error{Status: http.StatusNotFound, Code: "Request_ResourceNotFound",
			Message: "Resource '" + key + "' does not exist or one of its queried reference-property objects are not present."}
	}
	version := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0]
	return http.StatusOK, map[string]any{
		"@odata.context":    "https://graph.microsoft.com/" + version + "/$metadata#users(id,displayName,userPrincipalName)/$entity",
		"id":                u.ID,
		"displayName":       u.DisplayName,
		"userPrincipalName": u.UPN,
	}, nil
}
