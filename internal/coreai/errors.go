package coreai

import (
	"errors"
	"fmt"
)

// Errors callers can test with errors.Is; returned errors wrap them with
// what exactly went wrong.
var (
	// ErrUnavailable: Core AI cannot be used here — no bridge library, a
	// library that is not a (compatible) bridge, an OS without Core AI.
	ErrUnavailable = errors.New("coreai: Core AI backend unavailable")
	// ErrContract: a request outside what the seed's bundles can run (a
	// second image, more than one token per step, wrong buffer sizes...).
	// Nothing was sent to the bridge.
	ErrContract = errors.New("coreai: outside the Core AI bundle contract")
	// ErrContextFull: the KV cache holds max_context tokens.
	ErrContextFull = errors.New("coreai: context full")
	// ErrClosed: the Session was closed.
	ErrClosed = errors.New("coreai: session is closed")
)

// BridgeError is a failure the bridge reported: which ABI function, its
// status and its message.
type BridgeError struct {
	Call    string // e.g. "vlmrt_coreai_step"
	Status  int32
	Message string
}

func (e *BridgeError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "no message"
	}
	return fmt.Sprintf("coreai: %s: %s (%s)", e.Call, msg, statusName(e.Status))
}

// Unwrap makes an "unavailable" status match ErrUnavailable.
func (e *BridgeError) Unwrap() error {
	if e.Status == statusUnavailable {
		return ErrUnavailable
	}
	return nil
}

func statusName(st int32) string {
	switch st {
	case statusError:
		return "status 1: Core AI error"
	case statusInvalid:
		return "status 2: invalid argument"
	case statusUnavailable:
		return "status 3: Core AI unavailable"
	}
	return fmt.Sprintf("status %d: unknown", st)
}

func contractf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrContract, fmt.Sprintf(format, args...))
}
