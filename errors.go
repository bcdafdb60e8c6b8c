package vlmrt

import (
	"github.com/vlmrt/vlmrt/internal/engine"
	"github.com/vlmrt/vlmrt/vision"
)

// Errors callers can test with errors.Is. Returned errors wrap these with a
// message saying what exactly went wrong.
var (
	// ErrContextOverflow: the conversation would not fit in the context
	// window. Nothing was generated and the chat is unchanged.
	ErrContextOverflow = engine.ErrContextOverflow
	// ErrUnsupportedInput: an image, message or option the model or backend
	// cannot take (bad file, too many images for the backend, empty message...).
	ErrUnsupportedInput = engine.ErrUnsupportedInput
	// ErrClosed: the Model was closed.
	ErrClosed = engine.ErrClosed
	// ErrCancelled: the context was cancelled or timed out. It also matches
	// context.Canceled / context.DeadlineExceeded through errors.Is.
	ErrCancelled = engine.ErrCancelled
	// ErrImageFile: an image file could not be opened (missing, a
	// directory, no permission): the path is wrong, not the image.
	ErrImageFile = vision.ErrImageFile
)
