// Package graphsim simulates the parts of Microsoft Graph's cloud
// communications API that a calling bot talks to, over real HTTP, so that the
// production Graph client, webhook and token verification run unchanged
// against it in the demo, in integration tests and in benchmarks.
//
// A Sim plays three roles of Microsoft's cloud:
//
//   - the identity platform: a client-credentials token endpoint,
//     POST /{tenant}/oauth2/v2.0/token, like login.microsoftonline.com;
//   - Graph: /v1.0 and /beta POST /communications/calls (the bot places a
//     call: 201, then establishing and established), /communications/calls/{id}
//     (GET, DELETE) and its
//     actions answer, reject, redirect, transfer and keepAlive; the media
//     operations playPrompt, recordResponse (record), subscribeToTone,
//     cancelMediaProcessing, updateRecordingStatus, sendDtmfTones, mute,
//     unmute and changeScreenSharingRole; participants/invite and
//     participants/{id}/mute; all also in the qualified form the C# SDK
//     sends (…/microsoft.graph.answer); the deprecated /app/calls/{id}
//     paths are served too. GET /users/{id | userPrincipalName} reads the
//     tenant's directory (Users), the people the traffic is made of;
//   - the notification service: it POSTs commsNotifications to the bot's
//     callback URL with a Bearer JWT signed RS256 by its own key, published
//     at GET /v1/.well-known/OpenIdConfiguration (also
//     /.well-known/openid-configuration) and GET /v1/keys, the way
//     https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration publishes
//     Graph's keys.
//
// Calls come from the traffic generator (Run), which creates realistic calls
// at Config.Rate per minute and plays a script for each, or from the
// scripted methods (StartIncoming, Establish, Hold, Transfer, RemoteHangUp…)
// that tests use to drive a call step by step. Both go through the same
// state machine, so a call behaves the same whoever drives it.
//
// # Errors
//
// API errors use Graph's body,
// {"error":{"code","message","innerError":{"request-id","date"}}}:
//
//   - no or bad access token: 401 InvalidAuthenticationToken;
//   - unknown call, or a call that has ended: 404 with code 8522 "Call not
//     found." Graph forgets a call once it is terminated, so GET, DELETE,
//     keepAlive and every action on an ended call answer like on an unknown
//     one;
//   - an action in the wrong state (answer, reject or redirect on a live call
//     that is not incoming): 409 Conflict with code "InvalidCallState". Graph
//     does not document this case; 409 says "your request is valid but the
//     call has moved on", which is what a console racing another supervisor
//     needs to tell apart from bad input;
//   - a malformed body or a bad value (reject reason, modality, media
//     configuration, redirect targets): 400 BadRequest;
//   - an unknown action segment: 400 BadRequest "Resource not found for the
//     segment …", as Graph answers;
//   - throttling (Config.ThrottleEvery, Sim.ThrottleNext): 429 TooManyRequests
//     with a Retry-After header in (possibly fractional) seconds;
//   - a closed Sim: 503 ServiceUnavailable.
//
// Every Graph API request is kept in a log (Sim.Requests) so that a test can
// assert which call an action hit, with which body, and what it was answered.
//
// # Notifications
//
// Each change is one commsNotifications envelope holding one
// commsNotification with changeType, resourceUrl (/communications/calls/{id}),
// the legacy resource (/app/calls/{id}) and resourceData. The sequences follow
// the seeds: an incoming call arrives as created(incoming); answer gives
// updated(establishing), updated(established); DELETE gives
// updated(terminating), deleted(terminated, 200/5001 "The conversation has
// ended."); reject gives a bare deleted, exactly like the reject example,
// without resultInfo (Graph's example has none and the reason is the bot's
// own). Redirect gives updated(redirecting) then deleted(terminated) with
// the whole call and no resultInfo. Transfer gives updated(transferring),
// then updated(transferAccepted) and deleted(terminated) with 0/7015 and
// terminationReason AppTransferred when the target is reachable (a phone
// number, an application, a user of the directory; SetUnreachable says
// otherwise), or updated(established) with 500/7000 (500/7700 for a
// consultative transfer) when not; a transfer from a group call needs a
// transferee. Group calls also get participants notifications: resourceUrl
// …/participants and an array of participant objects (the whole roster)
// as resourceData; participant: mute (200 with a completed
// muteParticipantOperation) sends the roster with the participant muted.
// Operations answer 200 with the operation and a Location header, and
// notify their end as a deleted notification of …/operations/{id}: a
// recording reaches its maximum length (200/8515), cancelMediaProcessing
// fails what runs with 400/8508. Actions through the API unfold over
// Config.StepDelay between steps, as Graph's do.
//
// Unless Config.PlainWire is set, deliveries carry the quirks real bots see
// (an outgoing call's establishing and established notifications carry
// only its state and chain id, and established is followed by the media
// state),
// drawn deterministically from Config.Seed and the call id: resultInfo
// code/subcode sometimes as JSON numbers and sometimes as strings, sometimes
// spelled subCode; messages with a "DiagCode: 500#7117.@" suffix; a
// notification now and then delivered twice; and establishing/established now
// and then delivered in the wrong order. Deliveries of one call are otherwise
// in order (one queue per call). A delivery that fails with a connection
// error, a 5xx or a 429 is retried a few times with exponential backoff;
// other answers (a 401 included) are final. Each POST has a 5 s timeout.
// A bot running several replicas with no load balancer in front lists them
// in Config.CallbackURLs: notifications then go to each replica in turn,
// and one a replica cannot take goes at once to the next.
//
// # Timeouts
//
// An incoming call nobody answers, rejects or redirects within
// Config.IncomingTimeout (15 s by default, as in Graph) ends with 408/1106.
// An established call that receives no keepAlive within
// Config.KeepAliveTimeout (45 min by default) ends with 408/8537.
package graphsim
