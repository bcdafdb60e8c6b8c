package bundle

import (
	"errors"
	"fmt"
)

// Sentinel errors: every failure to read a bundle wraps exactly one of these
// (test with errors.Is) inside a message that names the path at fault and,
// where it helps, what to do about it.
var (
	// ErrNotFound: the path does not exist.
	ErrNotFound = errors.New("no such file or directory")
	// ErrNoMetadata: a directory that should be a bundle has no metadata.json
	// (and holds no bundle below it either).
	ErrNoMetadata = errors.New("no metadata.json")
	// ErrMalformedMetadata: metadata.json is not valid JSON or a field has the wrong JSON type.
	ErrMalformedMetadata = errors.New("malformed metadata.json")
	// ErrUnsupportedVersion: metadata_version is not the "0.2" this package reads.
	ErrUnsupportedVersion = errors.New("unsupported metadata_version")
	// ErrWrongKind: kind is neither "llm" nor "vlm".
	ErrWrongKind = errors.New("unsupported bundle kind")
	// ErrMissingField: a required metadata field is absent.
	ErrMissingField = errors.New("missing required field")
	// ErrInvalidField: a metadata field is present but unusable (a negative
	// size, an asset name escaping the bundle, a number contradicting config.json).
	ErrInvalidField = errors.New("invalid field")
	// ErrMissingAsset: a file or directory the metadata names is not there.
	ErrMissingAsset = errors.New("missing asset")
	// ErrBadAsset: a Core AI asset is not a model directory with a readable metadata.json.
	ErrBadAsset = errors.New("malformed Core AI asset")
	// ErrAssetPath: the path names an .aimodel/.aimodelc directory instead of
	// the bundle directory that holds it.
	ErrAssetPath = errors.New("path is a model asset, not a bundle")
	// ErrMissingTokenizer: embedded_tokenizer is true but tokenizer/ has no tokenizer.json.
	ErrMissingTokenizer = errors.New("missing tokenizer")
	// ErrVisionMissing: the decoder's vision bundle cannot be found.
	ErrVisionMissing = errors.New("vision bundle missing")
	// ErrVisionMismatch: the vision bundle does not fit the decoder (hidden size, image token count).
	ErrVisionMismatch = errors.New("vision bundle does not match the decoder")
	// ErrDecoderMissing: a vision bundle was given but no decoder bundle uses it.
	ErrDecoderMissing = errors.New("decoder bundle missing")
	// ErrAmbiguous: a folder holds several decoder bundles and the caller must pick one.
	ErrAmbiguous = errors.New("several models found")
	// ErrNoPortableWeights: a Core AI bundle without converted weights was asked for weights.
	ErrNoPortableWeights = errors.New("no portable weights")
	// ErrExists: a conversion target already exists.
	ErrExists = errors.New("already exists")
)

// pathError is the one error type of this package: a sentinel, the path it
// concerns, and a human explanation.
type pathError struct {
	kind error
	path string
	msg  string
}

func (e *pathError) Error() string { return fmt.Sprintf("%s: %s: %s", e.path, e.kind, e.msg) }
func (e *pathError) Unwrap() error { return e.kind }

func errorf(kind error, path, format string, args ...any) error {
	return &pathError{kind: kind, path: path, msg: fmt.Sprintf(format, args...)}
}
