package alibabasim

import (
	"fmt"
	"net/http"
)

// apiError is an answer the simulator refuses a request with. Gateway
// errors (signature, credentials, throttling) come in the common shape
// {RequestId, HostId, Code, Message}; Workorder errors in the product's
// envelope {RequestId, Success: false, Code, Message, AccessDeniedDetail}.
type apiError struct {
	status  int
	code    string
	message string
	gateway bool
	// accessDenied is the AccessDeniedDetail of a permission error, as
	// JSON text; detailObject sends it as an object rather than a string.
	accessDenied string
	detailObject bool
}

// Every refusal the simulator gives, in one table. Codes, statuses and
// messages of the common gateway errors follow Alibaba Cloud's list of
// client errors common to all OpenAPI products; the Workorder ones follow
// the error table of the ListTicketNotes, ListTickets and ReplyTicket pages.
// Readings that no public page confirms are marked.
var (
	errThrottled = apiError{status: http.StatusTooManyRequests, code: "Throttling.User", gateway: true,
		// Alibaba documents throttling as HTTP 400; the simulator's fault
		// injector asks for 429, and the client maps by code either way.
		message: "Request was denied due to user flow control."}
	errNonceUsed = apiError{status: http.StatusBadRequest, code: "SignatureNonceUsed", gateway: true,
		message: "Specified signature nonce was used already."}
	errTimestampExpired = apiError{status: http.StatusBadRequest, code: "InvalidTimeStamp.Expired", gateway: true,
		message: "Specified time stamp or date value is expired."}
	errTimestampFormat = apiError{status: http.StatusBadRequest, code: "InvalidTimeStamp.Format", gateway: true,
		message: "Specified time stamp or date value is not well formatted."}
	errKeyNotFound = apiError{status: http.StatusNotFound, code: "InvalidAccessKeyId.NotFound", gateway: true,
		message: "Specified access key is not found."}
	errSignatureMethod = apiError{status: http.StatusBadRequest, code: "InvalidSignatureMethod", gateway: true,
		message: "Specified signature method is not valid."}
	errSignatureVersion = apiError{status: http.StatusBadRequest, code: "InvalidSignatureVersion", gateway: true,
		message: "Specified signature version is not valid."}
	errVersion = apiError{status: http.StatusBadRequest, code: "InvalidVersion", gateway: true,
		message: "Specified parameter Version is not valid."}
	errFormat = apiError{status: http.StatusBadRequest, code: "InvalidParameter.Format", gateway: true,
		message: "Specified parameter format is not valid."}
	errAPINotFound = apiError{status: http.StatusNotFound, code: "InvalidApi.NotFound", gateway: true,
		message: "Specified api is not found, please check your url and method."}
	errMethod = apiError{status: http.StatusBadRequest, code: "UnsupportedHTTPMethod", gateway: true,
		message: "This http method is not supported."}
	errBadRequest = apiError{status: http.StatusBadRequest, code: "InvalidParameter", gateway: true,
		message: "The request could not be parsed."}
	errTokenMissing = apiError{status: http.StatusBadRequest, code: "MissingSecurityToken", gateway: true,
		message: "SecurityToken is mandatory for this action."}
	errTokenMismatch = apiError{status: http.StatusBadRequest, code: "InvalidSecurityToken.MismatchWithAccessKey", gateway: true,
		message: "Specified SecurityToken mismatch with the AccessKey."}
	errTokenMalformed = apiError{status: http.StatusBadRequest, code: "InvalidSecurityToken.Malformed", gateway: true,
		message: "Specified SecurityToken is malformed."}
	// The STS "token expired" answer. HTTP 400 is a reading: Alibaba's
	// common error list does not show this code's status.
	errTokenExpired = apiError{status: http.StatusBadRequest, code: "InvalidSecurityToken.Expired", gateway: true,
		message: "Specified SecurityToken is expired."}

	errParamIllegal = apiError{status: http.StatusBadRequest, code: "param.illegal",
		message: "Params illegal."}
	errNoPermission = apiError{status: http.StatusForbidden, code: "No permissions",
		message: "No permissions to access."}
	errSystem = apiError{status: http.StatusInternalServerError, code: "System.error",
		message: "An error occurred while processing your request."}
	// An unknown ticket: no public page shows this answer (unconfirmed).
	errTicketNotFound = apiError{status: http.StatusNotFound, code: "ticket.not.exist",
		message: "The specified ticket does not exist."}
)

// errMissing is the gateway's answer to a missing common parameter.
func errMissing(name string) apiError {
	return apiError{status: http.StatusBadRequest, code: "Missing" + name, gateway: true,
		message: name + " is mandatory for this action."}
}

// errSignature is the gateway's answer to a wrong signature; like Alibaba it
// quotes the string it signed, which is what a developer needs to compare.
func errSignature(stringToSign string) apiError {
	return apiError{status: http.StatusBadRequest, code: "SignatureDoesNotMatch", gateway: true,
		message: "Specified signature is not matched with our calculation. server string to sign is:" + stringToSign}
}

// errParam is param.illegal naming the parameter at fault.
func errParam(format string, args ...any) apiError {
	e := errParamIllegal
	e.message = "Params illegal. " + fmt.Sprintf(format, args...)
	return e
}
