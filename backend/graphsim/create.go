package graphsim

import (
	"net/http"
	"strings"
)

// createBody is the body of POST /communications/calls: the bot places a
// call to targets, or joins a meeting.
type createBody struct {
	CallbackURI         string                `json:"callbackUri"`
	Targets             []wireParticipantInfo `json:"targets"`
	RequestedModalities []string              `json:"requestedModalities"`
	MediaConfig         *struct {
		ODataType string `json:"@odata.type"`
	} `json:"mediaConfig"`
	Subject     string `json:"subject"`
	MeetingInfo *struct {
		JoinMeetingID string `json:"joinMeetingId"`
	} `json:"meetingInfo"`
	ChatInfo *struct {
		ThreadID string `json:"threadId"`
	} `json:"chatInfo"`
}

// createCall is POST /communications/calls: 201 Created with the call in
// state establishing; the callee picks up after Config.StepDelay
// (establishing, established notified to the callback).
func (s *Sim) createCall(r *http.Request, body []byte) (int, any, error) {
	var b createBody
	if err := decodeBody(body, &b); err != nil {
		return 0, nil, err
	}
	if b.MediaConfig == nil || !containsFold(mediaConfigTypes, strings.TrimPrefix(b.MediaConfig.ODataType, "#")) {
		return 0, nil, badRequest("mediaConfig is required: serviceHostedMediaConfig or appHostedMediaConfig.")
	}
	if err := checkCallback(b.CallbackURI); err != nil {
		return 0, nil, err
	}
	spec := CallSpec{Subject: b.Subject}
	for i, t := range b.Targets {
		p, ok := partyOf(t.Identity)
		if !ok {
			return 0, nil, badRequest("targets[%d] has no user, phone or application identity with an id.", i)
		}
		spec.Targets = append(spec.Targets, p)
	}
	for _, m := range b.RequestedModalities {
		if !containsFold(validModalities, m) {
			return 0, nil, badRequest("Unknown modality '%s' in requestedModalities.", m)
		}
		for _, v := range validModalities {
			if strings.EqualFold(v, m) {
				spec.Modalities = append(spec.Modalities, v)
			}
		}
	}
	switch {
	case b.MeetingInfo != nil && b.MeetingInfo.JoinMeetingID != "":
		spec.MeetingID = b.MeetingInfo.JoinMeetingID
	case b.ChatInfo != nil && b.ChatInfo.ThreadID != "":
		spec.Group = true
	case len(spec.Targets) == 0:
		return 0, nil, badRequest("targets is required for a peer-to-peer call; meetingInfo or chatInfo to join a meeting.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	spec, err := s.fillSpecLocked(spec, directionOutgoing)
	if err != nil {
		return 0, nil, badRequest("%v", err)
	}
	c, err := s.newCallLocked(spec, directionOutgoing)
	if err != nil {
		return 0, nil, err
	}
	if b.CallbackURI != "" {
		c.callback = b.CallbackURI
	}
	c.info.State = stateEstablishing
	s.log.Info("outgoing call created through the API", "call", spec.ID)
	s.emit(c, newEnvelope("updated", c.info.ID, "", s.setupResource(c)))
	s.laterLocked(c, func(c *call) { s.establishLocked(c) })
	res := s.fullResource(c)
	version := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0]
	res.ODataContext = "https://graph.microsoft.com/" + version + "/$metadata#communications/calls/$entity"
	return http.StatusCreated, located{location: s.publicURL + "/" + version + callPath(c.info.ID), body: res}, nil
}
