package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// MetadataVersion is the only metadata.json schema this package reads and writes.
const MetadataVersion = "0.2"

// MetadataFile is the descriptor every LanguageBundle holds at its root.
const MetadataFile = "metadata.json"

// Metadata is a bundle's metadata.json (docs/design.md §4). Apple's Core AI
// exporters write metadata_version, kind, name, assets, language, source,
// compression and compilation; language.vision is this project's addition,
// written into converted bundles so the decoder/vision pairing can be checked.
type Metadata struct {
	MetadataVersion string `json:"metadata_version"`
	// Kind is "llm" or "vlm".
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Assets maps a role to a file or directory name inside the bundle; "main" is required.
	Assets   map[string]string `json:"assets"`
	Language *Language         `json:"language,omitempty"`
	// Source, Compression and Compilation are kept verbatim: they are
	// provenance, not needed to run the model.
	Source      json.RawMessage `json:"source,omitempty"`
	Compression json.RawMessage `json:"compression,omitempty"`
	Compilation json.RawMessage `json:"compilation,omitempty"`
}

// Language is metadata.json's "language" block.
type Language struct {
	// Tokenizer is the Hugging Face id the tokenizer came from.
	Tokenizer        string `json:"tokenizer"`
	VocabSize        *int   `json:"vocab_size"`
	MaxContextLength *int   `json:"max_context_length"`
	// EmbeddedTokenizer (default true) says tokenizer/ holds the tokenizer files.
	EmbeddedTokenizer *bool `json:"embedded_tokenizer,omitempty"`
	// FunctionMap maps a role to the graph functions of the Core AI asset.
	FunctionMap map[string][]string `json:"function_map,omitempty"`
	States      json.RawMessage     `json:"states,omitempty"`
	Vision      *Vision             `json:"vision,omitempty"`
}

// Vision roles: which half of a decoder/vision pair a bundle is.
const (
	RoleDecoder = "decoder"
	RoleEncoder = "encoder"
)

// Vision is language.vision: how a decoder and its vision encoder fit.
type Vision struct {
	// Role is RoleDecoder (the default) or RoleEncoder.
	Role string `json:"role,omitempty"`
	// Bundle, in a decoder, names the sibling directory holding the vision encoder.
	Bundle string `json:"bundle,omitempty"`
	// HiddenSize is the width of image_embeds rows (the decoder's hidden size).
	HiddenSize int `json:"hidden_size,omitempty"`
	// ImageTokens is the number of image_embeds rows per image (196 at the 448×448 grid).
	ImageTokens int `json:"image_tokens,omitempty"`
	// DeepstackLayers is the number of DeepStack feature sets.
	DeepstackLayers int `json:"deepstack_layers,omitempty"`
}

// IsEncoder reports whether this metadata describes a vision encoder bundle.
func (m *Metadata) IsEncoder() bool {
	return m.Language != nil && m.Language.Vision != nil && m.Language.Vision.Role == RoleEncoder
}

// HasEmbeddedTokenizer applies the schema default (true).
func (l *Language) HasEmbeddedTokenizer() bool {
	return l.EmbeddedTokenizer == nil || *l.EmbeddedTokenizer
}

// ReadMetadata reads and validates dir/metadata.json.
func ReadMetadata(dir string) (*Metadata, error) {
	path := filepath.Join(dir, MetadataFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errorf(ErrNoMetadata, dir, "not a bundle directory (a LanguageBundle holds metadata.json beside its model asset and tokenizer/)")
	}
	if err != nil {
		return nil, err
	}
	m, err := ParseMetadata(data)
	if err != nil {
		var pe *pathError
		if errors.As(err, &pe) {
			pe.path = path
		}
		return nil, err
	}
	return m, nil
}

// ParseMetadata decodes and validates metadata.json contents. Errors carry the
// path "metadata.json"; ReadMetadata replaces it with the real one.
func ParseMetadata(data []byte) (*Metadata, error) {
	var m Metadata
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, errorf(ErrMalformedMetadata, MetadataFile, "field %q: JSON %s where %s was expected", te.Field, te.Value, te.Type)
		}
		return nil, errorf(ErrMalformedMetadata, MetadataFile, "%v", err)
	}
	if dec.More() {
		return nil, errorf(ErrMalformedMetadata, MetadataFile, "trailing data after the JSON object")
	}
	return &m, m.Validate()
}

// Validate checks the schema: version, kind and required fields.
func (m *Metadata) Validate() error {
	missing := func(field string) error {
		return errorf(ErrMissingField, MetadataFile, "%q is required", field)
	}
	switch {
	case m.MetadataVersion == "":
		return missing("metadata_version")
	case m.MetadataVersion != MetadataVersion:
		return errorf(ErrUnsupportedVersion, MetadataFile, "metadata_version is %q; vlmrt reads schema %q", m.MetadataVersion, MetadataVersion)
	case m.Kind == "":
		return missing("kind")
	case m.Kind != "llm" && m.Kind != "vlm":
		return errorf(ErrWrongKind, MetadataFile, "kind is %q; vlmrt runs language bundles of kind \"llm\" or \"vlm\"", m.Kind)
	case m.Name == "":
		return missing("name")
	case m.Assets == nil:
		return missing("assets")
	case m.Assets["main"] == "":
		return missing("assets.main")
	case m.Language == nil:
		return missing("language")
	}
	for role, name := range m.Assets {
		if err := checkAssetName(name); err != nil {
			return errorf(ErrInvalidField, MetadataFile, "assets.%s: %v", role, err)
		}
	}
	l := m.Language
	switch {
	case l.Tokenizer == "":
		return missing("language.tokenizer")
	case l.VocabSize == nil:
		return missing("language.vocab_size")
	case *l.VocabSize <= 0:
		return errorf(ErrInvalidField, MetadataFile, "language.vocab_size must be positive, got %d", *l.VocabSize)
	case l.MaxContextLength == nil:
		return missing("language.max_context_length")
	case *l.MaxContextLength <= 0:
		return errorf(ErrInvalidField, MetadataFile, "language.max_context_length must be positive, got %d", *l.MaxContextLength)
	}
	if v := l.Vision; v != nil {
		switch {
		case v.Role != "" && v.Role != RoleDecoder && v.Role != RoleEncoder:
			return errorf(ErrInvalidField, MetadataFile, "language.vision.role is %q; want %q or %q", v.Role, RoleDecoder, RoleEncoder)
		case v.HiddenSize < 0 || v.ImageTokens < 0 || v.DeepstackLayers < 0:
			return errorf(ErrInvalidField, MetadataFile, "language.vision sizes must not be negative: %+v", *v)
		case v.Bundle != "":
			if err := checkAssetName(v.Bundle); err != nil {
				return errorf(ErrInvalidField, MetadataFile, "language.vision.bundle: %v", err)
			}
		}
	}
	return nil
}

// checkAssetName accepts a plain name inside the bundle directory: asset
// names come from a file anyone can edit and must not reach outside it.
func checkAssetName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return errors.New("must be a plain file or directory name inside the bundle, got " + strconvQuote(name))
	}
	return nil
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// encode renders metadata as the exporters do: indented JSON with a final newline.
func (m *Metadata) encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
