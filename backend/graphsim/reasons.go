package graphsim

import "fmt"

// reasonKey is a resultInfo code/subcode pair.
type reasonKey struct{ code, subcode int }

// reasonMessages are the messages Graph puts in resultInfo for the end
// reasons it documents (the "call end reason codes" table of the delete call
// page), plus the ones the design brief adds for transfers and failed joins.
var reasonMessages = map[reasonKey]string{
	{0, 0}:        "",
	{0, 7015}:     "GracefulTransferCompleted",
	{200, 4097}:   "Call ended by the other participant in the call.",
	{200, 4521}:   "Call ended by the other participant in peer-to-peer call.",
	{200, 5000}:   "Removed from the conversation by another participant.",
	{200, 5001}:   "The conversation has ended.",
	{200, 5002}:   "The conversation has ended as all other participants have left the call.",
	{200, 5003}:   "The conversation has ended.",
	{200, 5007}:   "The conversation has ended as the initiator of the group call left the conversation.",
	{200, 5010}:   "The conversation has ended as only one participant remained in the conversation.",
	{200, 5012}:   "The conversation has ended as there are no participants in the incoming roster.",
	{200, 5013}:   "The conversation has ended as no one else has joined the group call.",
	{200, 5014}:   "The conversation has ended because we were unable to determine a potential host for the group call.",
	{200, 5020}:   "The conversation has ended as there are no nonhidden participants in the incoming roster.",
	{200, 5030}:   "The conversation has ended as the breakout room duration has elapsed.",
	{200, 5300}:   "Participant was removed from the conversation by another participant.",
	{200, 5855}:   "Participant waiting in lobby was removed from the conversation after lobby inactivity timeout.",
	{200, 7000}:   "The conversation has ended by bot.",
	{200, 7015}:   "Call ended as the transfer completed successfully.",
	{200, 10550}:  "The conversation has ended by bot.",
	{200, 18503}:  "The other participant in the peer-to-peer call left the conversation.",
	{200, 540000}: "Call ended by the PSTN User.",
	{200, 560000}: "Call ended by the PSTN User.",
	{400, 2203}:   "Bad request.",
	{408, 1106}:   "An acknowledgment wasn't received for the call acceptance in the allotted time.",
	{408, 8537}:   "Keep Alive timeout, cleaned up inactive call.",
	{408, 10057}:  "Call timed out due to no signaling from callee endpoints.",
	{408, 13025}:  "Request timed out.",
	{410, 301005}: "Media connectivity failure.",
	{480, 10037}:  "No callee endpoints were found.",
	{480, 10076}:  "Callee couldn't be reached.",
	{480, 10134}:  "Call rejected due to inability to route the call.",
	{480, 10199}:  "Call rejected as private calling is disabled for the user.",
	{500, 1005}:   "Server encountered connectivity error with Bot's media. Check media connectivity between Bot and Microsoft.",
	{500, 7000}:   "Call transfer failed.",
	{500, 7117}:   "Server Internal Error.",
	{500, 7700}:   "Call transfer failed.",

	// Operation outcomes (playPrompt, recordResponse, cancelMediaProcessing).
	{200, 0}:    "Action completed successfully.",
	{200, 8515}: "Action completed, max record duration reached.",
	{400, 8508}: "Action failed, the operation was cancelled.",
}

// Results the simulator produces itself.
var (
	resultHungUpByBot     = reasonResult(200, 5001)
	resultIncomingTimeout = reasonResult(408, 1106)
	resultKeepAlive       = reasonResult(408, 8537)
	resultTransferred     = reasonResult(0, 7015)

	resultTransferFailed             = reasonResult(500, 7000)
	resultConsultativeTransferFailed = reasonResult(500, 7700)
	resultOperationDone              = reasonResult(200, 0)
	resultOperationCancelled         = reasonResult(400, 8508)
	resultRecordMaxLength            = reasonResult(200, 8515)
)

// reasonResult is the Result Graph gives for code/subcode, with the
// documented message, or a generic one for pairs the table lacks.
func reasonResult(code, subcode int) Result {
	msg, ok := reasonMessages[reasonKey{code, subcode}]
	if !ok {
		msg = "Call ended."
	}
	return Result{Code: code, Subcode: subcode, Message: msg}
}

func validateResultCode(code, subcode int) error {
	if code != 0 && (code < 100 || code > 699) {
		return fmt.Errorf("graphsim: result code %d is not 0 or an HTTP-like status", code)
	}
	if subcode < 0 {
		return fmt.Errorf("graphsim: result subcode %d is negative", subcode)
	}
	return nil
}
