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
	ErrContextOverflow error
	// ErrUnsupportedInput: an image, message or option the model or backend
	// cannot take (bad file, too many images for the backend, empty message...).
	ErrUnsupportedInput error
	// ErrClosed: the Model was closed.
	ErrClosed error
	// ErrCancelled: the context was cancelled or timed out. It also matches
	// context.Canceled / context.DeadlineExceeded through errors.Is.
	ErrCancelled error
	// ErrImageFile: an image file could not be opened (missing, a
	// directory, no permission): the path is wrong, not the image.
	ErrImageFile error
)

// The sentinels are the very values the engine and the image pipeline
// wrap, so errors.Is matches whatever layer an error comes from. They are
// assigned here rather than in their declarations so that the API's
// documentation shows its own declarations, not internal packages.
func init() {
	ErrContextOverflow, ErrUnsupportedInput, ErrClosed, ErrCancelled = engine.ErrContextOverflow, engine.ErrUnsupportedInput, engine.ErrClosed, engine.ErrCancelled
	ErrImageFile = vision.ErrImageFile
}
