// Package config reads a Qwen3-VL Hugging Face config.json into plain
// structs. Every architectural number the engine uses comes from here; the
// model packages never hard-code them.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"unicode"
)

// Text describes the language decoder (config.json "text_config").
type Text struct {
	HiddenSize        int     `json:"hidden_size"`
	NumLayers         int     `json:"num_hidden_layers"`
	NumHeads          int     `json:"num_attention_heads"`
	NumKVHeads        int     `json:"num_key_value_heads"`
	HeadDim           int     `json:"head_dim"`
	IntermediateSize  int     `json:"intermediate_size"`
	VocabSize         int     `json:"vocab_size"`
	RMSNormEps        float64 `json:"rms_norm_eps"`
	RopeTheta         float64 `json:"rope_theta"`
	MaxPositions      int     `json:"max_position_embeddings"`
	HiddenAct         string  `json:"hidden_act"`
	TieWordEmbeddings bool    `json:"tie_word_embeddings"`
	AttentionBias     bool    `json:"attention_bias"`
	// MRopeSection splits head_dim/2 rotary frequencies between the
	// temporal, height and width axes ([24,20,20] on the real models).
	MRopeSection     []int `json:"-"`
	MRopeInterleaved bool  `json:"-"`
}

// Vision describes the vision tower (config.json "vision_config").
type Vision struct {
	Depth                 int    `json:"depth"`
	HiddenSize            int    `json:"hidden_size"`
	NumHeads              int    `json:"num_heads"`
	IntermediateSize      int    `json:"intermediate_size"`
	OutHiddenSize         int    `json:"out_hidden_size"`
	PatchSize             int    `json:"patch_size"`
	TemporalPatchSize     int    `json:"temporal_patch_size"`
	SpatialMergeSize      int    `json:"spatial_merge_size"`
	InChannels            int    `json:"in_channels"`
	NumPositionEmbeddings int    `json:"num_position_embeddings"`
	DeepstackIndexes      []int  `json:"deepstack_visual_indexes"`
	HiddenAct             string `json:"hidden_act"`
	// LayerNormEps is not stored in config.json; Qwen3-VL's vision tower
	// hard-codes 1e-6 (docs/design.md §2).
	LayerNormEps float64 `json:"-"`
	// RopeTheta of the vision 2D rotary, likewise fixed at 10000 in the model code.
	RopeTheta float64 `json:"-"`
}

// FixedImageSize is the side, in pixels, of the fixed grid every image is
// resized to unless native resolution is asked for (docs/design.md §2:
// 448×448 → 28×28 patches of 16 → 14×14 = 196 image tokens). The one place
// the number is written.
const FixedImageSize = 448

// Model is a whole Qwen3-VL configuration.
type Model struct {
	Architecture  string
	ModelType     string
	Text          Text
	Vision        Vision
	ImageTokenID  int32
	VisionStartID int32
	VisionEndID   int32
	// TieWordEmbeddings: the head reuses embed_tokens (top-level or text_config flag).
	TieWordEmbeddings bool
	// EOSTokenIDs from text_config.eos_token_id (a number or a list); the
	// tokenizer's files, when present, are the better source.
	EOSTokenIDs []int32
}

type ropeParams struct {
	RopeType         string   `json:"rope_type"`
	MRopeSection     []int    `json:"mrope_section"`
	MRopeInterleaved *bool    `json:"mrope_interleaved"`
	RopeTheta        *float64 `json:"rope_theta"`
}

type rawText struct {
	Text
	EOS            idList      `json:"eos_token_id"`
	RopeScaling    *ropeParams `json:"rope_scaling"`
	RopeParameters *ropeParams `json:"rope_parameters"`
	TieWord        *bool       `json:"tie_word_embeddings"`
}

type rawModel struct {
	Architectures []string `json:"architectures"`
	ModelType     string   `json:"model_type"`
	TextConfig    *rawText `json:"text_config"`
	VisionConfig  *Vision  `json:"vision_config"`
	ImageTokenID  *int32   `json:"image_token_id"`
	VisionStartID *int32   `json:"vision_start_token_id"`
	VisionEndID   *int32   `json:"vision_end_token_id"`
	TieWord       *bool    `json:"tie_word_embeddings"`
}

// Load reads and validates a config.json file.
func Load(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := parseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Parse decodes and validates config.json contents. Both the transformers
// 4.x spelling (text_config.rope_scaling) and the v5 spelling
// (text_config.rope_parameters, which may also carry rope_theta) are accepted.
func Parse(data []byte) (*Model, error) {
	m, err := parseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	return m, nil
}

// parseConfig is Parse with errors that do not name the file, so Load can name it
// by its path instead.
func parseConfig(data []byte) (*Model, error) {
	var raw rawModel
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, jsonError(err)
	}
	if raw.TextConfig == nil {
		return nil, fmt.Errorf("missing text_config (not a Qwen3-VL checkpoint?)")
	}
	if raw.VisionConfig == nil {
		return nil, fmt.Errorf("missing vision_config (not a Qwen3-VL checkpoint?)")
	}
	m := &Model{ModelType: raw.ModelType, Text: raw.TextConfig.Text, Vision: *raw.VisionConfig}
	if len(raw.Architectures) > 0 {
		m.Architecture = raw.Architectures[0]
	}
	rp := raw.TextConfig.RopeParameters
	if rp == nil {
		rp = raw.TextConfig.RopeScaling
	}
	if rp != nil {
		m.Text.MRopeSection = rp.MRopeSection
		m.Text.MRopeInterleaved = rp.MRopeInterleaved == nil || *rp.MRopeInterleaved
		if rp.RopeTheta != nil && m.Text.RopeTheta == 0 {
			m.Text.RopeTheta = *rp.RopeTheta
		}
		if rp.RopeType != "" && rp.RopeType != "default" {
			return nil, fmt.Errorf("text_config rope_type %q is not supported (only \"default\")", rp.RopeType)
		}
	}
	if m.Text.HeadDim == 0 && m.Text.NumHeads > 0 {
		m.Text.HeadDim = m.Text.HiddenSize / m.Text.NumHeads
	}
	if m.Text.RMSNormEps == 0 {
		m.Text.RMSNormEps = 1e-6
	}
	// Qwen3-VL ties embeddings at the top level in 4.57 checkpoints and in
	// text_config in others; either true means tied.
	switch {
	case raw.TieWord != nil:
		m.TieWordEmbeddings = *raw.TieWord
	case raw.TextConfig.TieWord != nil:
		m.TieWordEmbeddings = *raw.TextConfig.TieWord
	}
	m.Text.TieWordEmbeddings = m.TieWordEmbeddings
	m.EOSTokenIDs = raw.TextConfig.EOS
	m.Vision.LayerNormEps = 1e-6
	m.Vision.RopeTheta = 10000
	if m.Vision.InChannels == 0 {
		m.Vision.InChannels = 3
	}
	if m.Vision.OutHiddenSize == 0 {
		m.Vision.OutHiddenSize = m.Text.HiddenSize
	}
	m.ImageTokenID = pick(raw.ImageTokenID, 151655)
	m.VisionStartID = pick(raw.VisionStartID, 151652)
	m.VisionEndID = pick(raw.VisionEndID, 151653)
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// pick returns *p, or def when config.json omits the key (older exports
// leave out the special ids; these defaults are the Qwen3-VL tokenizer's).
func pick(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// Sanity bounds for Validate. The largest Qwen3-VL models have 94 decoder
// layers, hidden size 8192, intermediate size 25600, vocabulary 151936 and
// 16-pixel patches.
const (
	maxLayers    = 1024
	maxWidth     = 1 << 20
	maxVocab     = 1 << 24
	maxPatchSide = 1024
	maxPatchAxis = 64
)

// Validate checks that the numbers are usable and consistent.
func (m *Model) Validate() error {
	t, v := &m.Text, &m.Vision
	for _, c := range []struct {
		name string
		val  int
	}{
		{"text_config.hidden_size", t.HiddenSize}, {"text_config.num_hidden_layers", t.NumLayers},
		{"text_config.num_attention_heads", t.NumHeads}, {"text_config.num_key_value_heads", t.NumKVHeads},
		{"text_config.head_dim", t.HeadDim}, {"text_config.intermediate_size", t.IntermediateSize},
		{"text_config.vocab_size", t.VocabSize},
		{"vision_config.depth", v.Depth}, {"vision_config.hidden_size", v.HiddenSize},
		{"vision_config.num_heads", v.NumHeads}, {"vision_config.intermediate_size", v.IntermediateSize},
		{"vision_config.out_hidden_size", v.OutHiddenSize}, {"vision_config.patch_size", v.PatchSize},
		{"vision_config.temporal_patch_size", v.TemporalPatchSize}, {"vision_config.spatial_merge_size", v.SpatialMergeSize},
		{"vision_config.num_position_embeddings", v.NumPositionEmbeddings}, {"vision_config.in_channels", v.InChannels},
	} {
		if c.val <= 0 {
			return fmt.Errorf("%s must be positive, got %d", c.name, c.val)
		}
	}
	// Upper bounds far above every real checkpoint: the loaders, inspect and
	// the manifests size slices and byte counts from these numbers before
	// any tensor is read, so a corrupt value must fail here, not as an
	// out-of-memory crash or an overflowed count.
	for _, c := range []struct {
		name     string
		val, max int
	}{
		{"text_config.num_hidden_layers", t.NumLayers, maxLayers}, {"vision_config.depth", v.Depth, maxLayers},
		{"text_config.hidden_size", t.HiddenSize, maxWidth}, {"text_config.intermediate_size", t.IntermediateSize, maxWidth},
		{"text_config.num_attention_heads", t.NumHeads, maxWidth}, {"text_config.head_dim", t.HeadDim, maxWidth},
		// entries are checked in order, so these products cannot overflow
		{"text_config.num_attention_heads × head_dim", t.NumHeads * t.HeadDim, maxWidth},
		{"text_config.vocab_size", t.VocabSize, maxVocab},
		{"vision_config.hidden_size", v.HiddenSize, maxWidth}, {"vision_config.intermediate_size", v.IntermediateSize, maxWidth},
		{"vision_config.num_heads", v.NumHeads, maxWidth}, {"vision_config.num_position_embeddings", v.NumPositionEmbeddings, maxWidth},
		{"vision_config.in_channels", v.InChannels, maxPatchAxis}, {"vision_config.temporal_patch_size", v.TemporalPatchSize, maxPatchAxis},
		{"vision_config.patch_size", v.PatchSize, maxPatchSide}, {"vision_config.spatial_merge_size", v.SpatialMergeSize, maxPatchAxis},
	} {
		if c.val > c.max {
			return fmt.Errorf("%s = %d is beyond any supported model (at most %d): corrupt config?", c.name, c.val, c.max)
		}
	}
	if !(t.RMSNormEps > 0 && t.RMSNormEps < 1) {
		return fmt.Errorf("text_config.rms_norm_eps must be in (0, 1), got %g", t.RMSNormEps)
	}
	for _, id := range []struct {
		name string
		val  int32
	}{{"image_token_id", m.ImageTokenID}, {"vision_start_token_id", m.VisionStartID}, {"vision_end_token_id", m.VisionEndID}} {
		if id.val < 0 {
			return fmt.Errorf("%s must be ≥ 0, got %d", id.name, id.val)
		}
	}
	if t.NumHeads%t.NumKVHeads != 0 {
		return fmt.Errorf("num_attention_heads %d is not a multiple of num_key_value_heads %d", t.NumHeads, t.NumKVHeads)
	}
	if t.HeadDim%2 != 0 {
		return fmt.Errorf("head_dim %d must be even for rotary embeddings", t.HeadDim)
	}
	if t.RopeTheta <= 0 {
		return fmt.Errorf("text_config.rope_theta missing or not positive")
	}
	if len(t.MRopeSection) != 3 {
		return fmt.Errorf("text_config rope_scaling/rope_parameters.mrope_section must have 3 entries, got %v", t.MRopeSection)
	}
	if s := t.MRopeSection[0] + t.MRopeSection[1] + t.MRopeSection[2]; s != t.HeadDim/2 {
		return fmt.Errorf("mrope_section %v sums to %d, want head_dim/2 = %d", t.MRopeSection, s, t.HeadDim/2)
	}
	if !t.MRopeInterleaved {
		return fmt.Errorf("only interleaved M-RoPE (mrope_interleaved=true) is supported")
	}
	if t.HiddenAct != "" && t.HiddenAct != "silu" {
		return fmt.Errorf("config.json: text_config.hidden_act %q is not supported (Qwen3-VL decoders use silu)", t.HiddenAct)
	}
	if t.AttentionBias {
		return fmt.Errorf("attention_bias=true is not supported by Qwen3-VL decoders")
	}
	if v.HiddenSize%v.NumHeads != 0 {
		return fmt.Errorf("vision hidden_size %d not divisible by num_heads %d", v.HiddenSize, v.NumHeads)
	}
	if (v.HiddenSize/v.NumHeads)%4 != 0 {
		return fmt.Errorf("vision head_dim %d must be a multiple of 4 for the 2D rotary", v.HiddenSize/v.NumHeads)
	}
	for _, d := range v.DeepstackIndexes {
		if d < 0 || d >= v.Depth {
			return fmt.Errorf("deepstack_visual_indexes %v out of range for depth %d", v.DeepstackIndexes, v.Depth)
		}
	}
	if len(v.DeepstackIndexes) > t.NumLayers {
		return fmt.Errorf("%d DeepStack features but only %d decoder layers", len(v.DeepstackIndexes), t.NumLayers)
	}
	if v.OutHiddenSize != t.HiddenSize {
		return fmt.Errorf("vision out_hidden_size %d differs from text hidden_size %d", v.OutHiddenSize, t.HiddenSize)
	}
	side := 1
	for side*side < v.NumPositionEmbeddings {
		side++
	}
	if side*side != v.NumPositionEmbeddings {
		return fmt.Errorf("num_position_embeddings %d is not a square", v.NumPositionEmbeddings)
	}
	return nil
}

// PosEmbedSide is the side of the learned square position table (48 for 2304).
func (v *Vision) PosEmbedSide() int {
	s := 1
	for s*s < v.NumPositionEmbeddings {
		s++
	}
	return s
}

// HeadDim is the vision attention head width.
func (v *Vision) HeadDim() int { return v.HiddenSize / v.NumHeads }

// PatchDim is the flattened patch length: channels × temporal × patch².
func (v *Vision) PatchDim() int {
	return v.InChannels * v.TemporalPatchSize * v.PatchSize * v.PatchSize
}

// idList accepts a JSON number or an array of numbers.
type idList []int32

func (l *idList) UnmarshalJSON(b []byte) error {
	var one int32
	if err := json.Unmarshal(b, &one); err == nil {
		*l = idList{one}
		return nil
	}
	var many []int32
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("eos_token_id must be a number or a list of numbers: %w", err)
	}
	*l = many
	return nil
}

// jsonError words a JSON decoding error for the person who edits
// config.json: a value of the wrong kind names its key and the kind wanted
// (1e9 is valid JSON, but not an integer), with no Go type names; anything
// else is malformed JSON.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Field == "" || te.Type == nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	var key []string
	for _, k := range strings.Split(te.Field, ".") {
		// Embedded Go structs appear in the path by their type name.
		if k != "" && !unicode.IsUpper(rune(k[0])) {
			key = append(key, k)
		}
	}
	want := "a value of another kind"
	switch te.Type.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = "an integer (written without a fraction or exponent)"
	case reflect.Float32, reflect.Float64:
		want = "a number"
	case reflect.String:
		want = "a string"
	case reflect.Bool:
		want = "true or false"
	case reflect.Slice, reflect.Array:
		want = "a list"
	case reflect.Struct, reflect.Map:
		want = "an object"
	}
	return fmt.Errorf("%s must be %s, got %s", strings.Join(key, "."), want, te.Value)
}
