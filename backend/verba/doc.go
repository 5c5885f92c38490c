// Package verba serves the recording platform's HTTP Business API call
// DeleteCall (the Verba Recording System's), so that integrations written
// for a Verba recorder delete Switchboard's conversations by changing only
// the host they call.
//
// A Service is an http.Handler mounted at /verba/api. It answers GET and
// POST (query string, or a form body: application/x-www-form-urlencoded or
// multipart/form-data) with these actions:
//
//	action=DeleteCall&apiKey=K[&token=T][&responseType=R]&<identifier>
//	action=RequestToken&apiKey=K           with Authorization: Basic base64(login:password)
//	action=RevokeToken&apiKey=K&token=T
//
// # Identifiers
//
// DeleteCall takes exactly one identifier, mapped onto Switchboard's call
// model (app/calls) as follows:
//
//	callID          the Graph call id                            Call.ID
//	platformCallID  Graph's callChainId                          Call.ChainID
//	nativeID        the bot's participant id (myParticipantId)   Call.MyParticipantID
//	meetingID       the meeting's join id (meetingInfo)          Call.MeetingID
//	extension       a phone number or user id of the source or   Call.Involves
//	                of a target, with status (mandatory)
//
// Identifiers other than extension match live and ended calls, ignoring
// letter case. status is a comma-separated list of:
//
//	ongoing  a call in progress involving the extension
//	last     the most recently ended call involving it (by end time)
//	next     the next call involving it that starts within NextWindow (one
//	         minute) after the request: the request arms the deletion and
//	         succeeds at once; when such a call starts (Service.CallStarted)
//	         it is marked for deletion and the arm is used up
//
// A combination takes the union of ongoing and last; more than one call is
// ambiguous (409). next takes effect only when the other statuses listed
// match nothing: "ongoing,next" deletes the ongoing call if there is one and
// arms otherwise. Arming an extension again restarts its minute.
//
// # What deleting does
//
// An ended call is erased now, everywhere (Store.Erase); a call in progress
// is marked for deletion (Store.MarkForDeletion) and erased when it ends.
// Deleting twice is not an error: an identifier of a call deleted before
// (remembered for Config.RememberDeleted) answers success with "the call
// was already deleted". Note that extension+last then names the call before.
// The audit trail records who (actor "apikey:<key name>") deleted, marked or
// armed what (the call id), with which API user's token, and from which
// address; never anything of the conversation.
//
// # Parameters
//
// Parameter names are matched ignoring letter case (callid = callID), and so
// are the values of action, responseType and status. Values are trimmed of
// spaces; an empty value counts as absent; values are at most 1024
// characters. Unknown parameters are ignored. A parameter given twice (also
// once in the query and once in the body) is an error.
//
// # Authentication
//
// Every action needs an API key configured by an admin (Key: name, SHA-256
// of the key, whether it requires a token, allowed networks). A key that
// requires a token needs, on DeleteCall, a token from RequestToken: an API
// user's HTTP Basic credentials (User, bcrypt hash) and the key give a token
// bound to that key, valid for TokenLifetime (one hour) until revoked with
// RevokeToken. A token presented with a key that does not require one is
// checked all the same. Tokens, arms and deleted identifiers live in NATS KV
// buckets (TokenBucket, ArmBucket, DeletedBucket), so every replica shares
// them; tokens are stored by hash only. Failed authentications are recorded
// in the audit trail as audit.ActionLoginFailed.
//
// # Abuse
//
// Failed requests (anything refused before or during authentication; not
// an authenticated caller's 404 or 409) count against the client's address
// (Config.Limits, package ratelimit): an address over its limit is refused
// at once with 429 and Retry-After, unchecked and with its body unread, so
// it can neither guess keys, tokens or passwords nor make the server hash
// them. Such a refusal is answered in the format its query string asks
// for. Failed authentications with a known key also count against the key:
// LockoutAfter of them within LockoutWindow lock the key out for
// LockoutFor, on every replica (LockoutBucket), and every request with it
// is then answered 429 with Retry-After and an error saying until when;
// the lockout is audited (audit.ActionLockout). With Config.Floods, the
// audit trail holds one entry per address and window for a flood of
// failures, not one per request. A POST body must arrive within
// BodyTimeout, or it is cut with 408.
//
// # Responses
//
// responseType is XML (the default), JSON, TEXT or HTML. Every answer, also
// every error, carries the envelope; code is 0 on success and 2 on error,
// and the HTTP status tells the same story. XML:
//
//	<VerbaApi><Response code="0" type="DeleteCall"/></VerbaApi>
//	<VerbaApi><Response code="0" type="DeleteCall"><Message>the call is in progress: marked for deletion, it is deleted when it ends</Message></Response></VerbaApi>
//	<VerbaApi><Response code="0" type="RequestToken"><Token>0b6f…</Token></Response></VerbaApi>
//	<VerbaApi><Response code="2" type="DeleteCall"><ErrorMessage>no call matches callID "x"</ErrorMessage></Response></VerbaApi>
//
// JSON mirrors the XML names:
//
//	{"VerbaApi":{"Response":{"code":2,"type":"DeleteCall","ErrorMessage":"…"}}}
//
// TEXT writes one name=value line per field (code, type, Token, Message,
// ErrorMessage, in that order, empty ones left out):
//
//	code=0
//	type=RequestToken
//	Token=0b6f…
//
// HTML is a small page whose <dl id="Response"> holds a <dd> per field with
// the field's name as id. A request whose responseType is unknown is
// answered in XML.
//
// # Errors
//
// Checks run in this order; the first failure answers.
//
//	429  the client's address failed too often (with Retry-After)
//	405  method other than GET or POST (with Allow: GET, POST)
//	400  malformed query string
//	408  body slower than BodyTimeout
//	413  body over MaxBodyBytes
//	415  body neither urlencoded nor multipart form
//	400  malformed body; a file in a multipart body
//	400  a parameter given twice; a value over 1024 characters
//	400  unknown responseType
//	400  missing action; unknown action
//	401  missing apiKey
//	400  DeleteCall: no identifier; two identifiers; extension without
//	     status; status without extension; unknown status; empty status item
//	400  RevokeToken: missing token
//	401  unknown API key
//	429  the key is locked out (with Retry-After)
//	403  the client's address is outside the key's networks
//	401  RequestToken: missing Basic credentials (with WWW-Authenticate);
//	     wrong login or password (one answer for both)
//	401  token: required but missing; unknown; issued for another key;
//	     revoked; expired ("token expired; request a new one")
//	404  no call matches (and none was deleted before)
//	409  more than one call matches
//	500  the call store or NATS failed; the request is safe to retry
//
// # Configuration file
//
// LoadConfigFile reads keys and users from JSON:
//
//	{
//	  "keys": [
//	    {"name": "crm", "hash": "sha256:9f86d0…", "requireToken": true,
//	     "networks": ["10.20.0.0/16", "2001:db8::/32"]}
//	  ],
//	  "users": [
//	    {"login": "crm-bot", "passwordHash": "$2a$10$…"}
//	  ]
//	}
//
// NewKey makes a key and its hash; HashKey hashes an existing integration's
// key; HashPassword hashes a user's password.
package verba
