package http

import "errors"

// ErrNeedMore reports that the buffer holds only the start of a request.
// It is not a protocol error: call again with more bytes.
var ErrNeedMore = errors.New("http: need more data")

// ProtocolError is a request the server refuses. Status is the response code
// to send before closing the connection.
type ProtocolError struct {
	Status int
	Msg    string
}

func (e *ProtocolError) Error() string { return "http: " + e.Msg }

// The rejections the parser can return. They are sentinels: compare with
// errors.Is, or read Status with errors.As.
var (
	ErrBadMethod         = &ProtocolError{400, "invalid method"}
	ErrBadTarget         = &ProtocolError{400, "invalid request target"}
	ErrBadVersion        = &ProtocolError{400, "malformed HTTP version"}
	ErrBadRequestLine    = &ProtocolError{400, "malformed request line"}
	ErrBareLF            = &ProtocolError{400, "bare LF"}
	ErrBadHeaderName     = &ProtocolError{400, "invalid header field name"}
	ErrSpaceBeforeColon  = &ProtocolError{400, "whitespace before colon"}
	ErrObsFold           = &ProtocolError{400, "obsolete line folding"}
	ErrBadHeaderValue    = &ProtocolError{400, "invalid header field value"}
	ErrMissingHost       = &ProtocolError{400, "missing Host header"}
	ErrBadHost           = &ProtocolError{400, "invalid Host header"}
	ErrDuplicateHost     = &ProtocolError{400, "duplicate Host header"}
	ErrBadContentLength  = &ProtocolError{400, "invalid Content-Length"}
	ErrConflictingLength = &ProtocolError{400, "conflicting Content-Length"}
	ErrTEAndCL           = &ProtocolError{400, "both Transfer-Encoding and Content-Length"}
	ErrBadTE             = &ProtocolError{400, "invalid Transfer-Encoding"}
	ErrTEInHTTP10        = &ProtocolError{400, "Transfer-Encoding in an HTTP/1.0 request"}
	ErrBadChunk          = &ProtocolError{400, "malformed chunked encoding"}
	ErrUnknownTE         = &ProtocolError{501, "unsupported transfer coding"}
	ErrVersionNotSupp    = &ProtocolError{505, "HTTP version not supported"}
	ErrURITooLong        = &ProtocolError{414, "request line too long"}
	ErrHeaderTooLarge    = &ProtocolError{431, "header section too large"}
	ErrTooManyHeaders    = &ProtocolError{431, "too many header fields"}
	ErrBodyTooLarge      = &ProtocolError{413, "request body too large"}
)

// StatusOf returns the status code to answer err with: the ProtocolError's
// status, or 400 for any other error.
func StatusOf(err error) int {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Status
	}
	return 400
}
