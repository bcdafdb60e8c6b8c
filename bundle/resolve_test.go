package bundle

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestResolveSeedPairAllWays: the published pair is recognized from either
// bundle directory, their parent (gpu-pipelined/), the repository root
// above it, and the decoder's metadata.json.
func TestResolveSeedPairAllWays(t *testing.T) {
	s := newSeedPair(t)
	for _, p := range []string{
		s.decoder, s.vision, s.pipelined, s.root,
		filepath.Join(s.decoder, MetadataFile), s.decoder + string(filepath.Separator),
	} {
		loc, err := Resolve(p)
		if err != nil {
			t.Fatalf("Resolve(%s): %v", p, err)
		}
		if loc.Kind != KindCoreAI {
			t.Errorf("Resolve(%s).Kind = %v, want %v", p, loc.Kind, KindCoreAI)
		}
		if loc.Decoder.Dir != s.decoder || loc.Vision.Dir != s.vision {
			t.Errorf("Resolve(%s): decoder %s vision %s, want %s %s", p, loc.Decoder.Dir, loc.Vision.Dir, s.decoder, s.vision)
		}
		if loc.Decoder.Asset != s.decoderAsset() || loc.Vision.Asset != s.visionAsset() {
			t.Errorf("Resolve(%s): assets %s, %s", p, loc.Decoder.Asset, loc.Vision.Asset)
		}
		if loc.Tokenizer != filepath.Join(s.decoder, TokenizerDir) || loc.TokenizerID != "Qwen/Qwen3-VL-4B-Instruct" {
			t.Errorf("Resolve(%s): tokenizer %q (%q)", p, loc.Tokenizer, loc.TokenizerID)
		}
		if loc.HasPortableWeights() || loc.Config != "" {
			t.Errorf("Resolve(%s): a plain Core AI pair has no portable weights, got config %q", p, loc.Config)
		}
		if loc.Path != p {
			t.Errorf("Resolve(%s).Path = %s", p, loc.Path)
		}
	}
	loc, _ := Resolve(s.decoder)
	m := loc.Decoder.Meta
	if m.Kind != "llm" || m.Name != seedDecoder || *m.Language.VocabSize != 151936 || *m.Language.MaxContextLength != 4096 ||
		!m.Language.HasEmbeddedTokenizer() || len(m.Language.FunctionMap["main"]) != 1 || m.Language.FunctionMap["main"][0] != "main" {
		t.Errorf("decoder metadata read wrong: %+v / %+v", m, m.Language)
	}
	if string(m.Compression) != "null" || !strings.Contains(string(m.Source), `"model_definition": "torch"`) {
		t.Errorf("provenance not kept verbatim: compression %s source %s", m.Compression, m.Source)
	}
	if loc.Vision.Meta != nil {
		t.Errorf("the seed's vision bundle has no metadata.json, got %+v", loc.Vision.Meta)
	}
	if ai := loc.Decoder.AssetInfo; ai.AssetVersion != "1.0" || ai.Producer != "coreai-torch" || ai.CreationDate == "" || ai.SourceHash == "" {
		t.Errorf("asset metadata read wrong: %+v", ai)
	}
	if _, err := loc.OpenWeights(); !errors.Is(err, ErrNoPortableWeights) || !strings.Contains(err.Error(), "--into") {
		t.Errorf("OpenWeights on a Core AI pair: %v, want ErrNoPortableWeights with the convert hint", err)
	}
	if _, err := loc.LoadConfig(); !errors.Is(err, ErrNoPortableWeights) {
		t.Errorf("LoadConfig on a Core AI pair: %v", err)
	}
}

// TestResolveCompiledAssetFallback: assets.main names the .aimodel, only the
// compiled .aimodelc exists.
func TestResolveCompiledAssetFallback(t *testing.T) {
	s := newSeedPair(t)
	if err := os.Rename(s.decoderAsset(), s.decoderAsset()+"c"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(s.visionAsset(), s.visionAsset()+"c"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{s.decoder, s.vision, s.pipelined} {
		loc, err := Resolve(p)
		if err != nil {
			t.Fatalf("Resolve(%s): %v", p, err)
		}
		if loc.Decoder.Asset != s.decoderAsset()+"c" || loc.Vision.Asset != s.visionAsset()+"c" {
			t.Errorf("Resolve(%s): assets %s, %s; want the .aimodelc", p, loc.Decoder.Asset, loc.Vision.Asset)
		}
	}
}

// TestResolveMalformed: every way a bundle can be broken gives its own
// sentinel error and a message naming what is wrong.
func TestResolveMalformed(t *testing.T) {
	decMeta := func(s seedPair) string { return filepath.Join(s.decoder, MetadataFile) }
	setMeta := func(edit func(m map[string]any)) func(t *testing.T, s seedPair) {
		return func(t *testing.T, s seedPair) { editJSON(t, decMeta(s), edit) }
	}
	encoderMeta := func(hidden, tokens int) func(t *testing.T, s seedPair) {
		return func(t *testing.T, s seedPair) {
			editJSON(t, decMeta(s), func(m map[string]any) {
				language(m)["vision"] = map[string]any{"hidden_size": 2560, "image_tokens": 196}
			})
			writeFile(t, filepath.Join(s.vision, MetadataFile), `{"metadata_version": "0.2", "kind": "vlm", "name": "v",
				"assets": {"main": "qwen3_vl_4b_instruct_vision.aimodel"},
				"language": {"tokenizer": "Qwen/Qwen3-VL-4B-Instruct", "vocab_size": 151936, "max_context_length": 4096,
				"embedded_tokenizer": false, "vision": {"role": "encoder", "hidden_size": `+itoa(hidden)+`, "image_tokens": `+itoa(tokens)+`}}}`)
		}
	}
	remove := func(rel func(s seedPair) string) func(t *testing.T, s seedPair) {
		return func(t *testing.T, s seedPair) {
			if err := os.RemoveAll(rel(s)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		break_ func(t *testing.T, s seedPair)
		path   func(s seedPair) string // default: the decoder
		want   error
		msg    []string // substrings the message must contain
	}{
		{"no metadata", remove(decMeta), nil, ErrNoMetadata, []string{"no metadata.json", seedDecoder}},
		{"no metadata via parent", remove(decMeta), func(s seedPair) string { return s.pipelined }, ErrNoMetadata, []string{seedDecoder}},
		{"empty directory", nil, func(s seedPair) string { d := filepath.Join(s.root, "empty"); os.Mkdir(d, 0o755); return d }, ErrNoMetadata, []string{"empty"}},
		{"nonexistent path", nil, func(s seedPair) string { return filepath.Join(s.root, "nope") }, ErrNotFound, []string{"nope"}},
		{"malformed JSON", func(t *testing.T, s seedPair) { writeFile(t, decMeta(s), `{"metadata_version": "0.2", "kind": `) }, nil, ErrMalformedMetadata, []string{decMetaName}},
		{"wrong JSON type", setMeta(func(m map[string]any) { language(m)["vocab_size"] = "151936" }), nil, ErrMalformedMetadata, []string{"vocab_size"}},
		{"trailing garbage", func(t *testing.T, s seedPair) {
			data, _ := os.ReadFile(decMeta(s))
			writeFile(t, decMeta(s), string(data)+"{}")
		}, nil, ErrMalformedMetadata, []string{"trailing"}},
		{"unsupported version", setMeta(func(m map[string]any) { m["metadata_version"] = "0.3" }), nil, ErrUnsupportedVersion, []string{`"0.3"`, `"0.2"`}},
		{"wrong kind", setMeta(func(m map[string]any) { m["kind"] = "tts" }), nil, ErrWrongKind, []string{`"tts"`}},
		{"missing metadata_version", setMeta(func(m map[string]any) { delete(m, "metadata_version") }), nil, ErrMissingField, []string{"metadata_version"}},
		{"missing kind", setMeta(func(m map[string]any) { delete(m, "kind") }), nil, ErrMissingField, []string{`"kind"`}},
		{"missing name", setMeta(func(m map[string]any) { delete(m, "name") }), nil, ErrMissingField, []string{`"name"`}},
		{"missing assets", setMeta(func(m map[string]any) { delete(m, "assets") }), nil, ErrMissingField, []string{`"assets"`}},
		{"missing assets.main", setMeta(func(m map[string]any) { m["assets"] = map[string]any{"draft": "x.aimodel"} }), nil, ErrMissingField, []string{"assets.main"}},
		{"missing language", setMeta(func(m map[string]any) { delete(m, "language") }), nil, ErrMissingField, []string{`"language"`}},
		{"missing tokenizer", setMeta(func(m map[string]any) { delete(language(m), "tokenizer") }), nil, ErrMissingField, []string{"language.tokenizer"}},
		{"missing vocab_size", setMeta(func(m map[string]any) { delete(language(m), "vocab_size") }), nil, ErrMissingField, []string{"language.vocab_size"}},
		{"missing max_context_length", setMeta(func(m map[string]any) { delete(language(m), "max_context_length") }), nil, ErrMissingField, []string{"language.max_context_length"}},
		{"zero vocab_size", setMeta(func(m map[string]any) { language(m)["vocab_size"] = 0 }), nil, ErrInvalidField, []string{"vocab_size must be positive"}},
		{"asset escaping the bundle", setMeta(func(m map[string]any) { m["assets"] = map[string]any{"main": "../x.aimodel"} }), nil, ErrInvalidField, []string{"../x.aimodel"}},
		{"bad vision role", setMeta(func(m map[string]any) { language(m)["vision"] = map[string]any{"role": "camera"} }), nil, ErrInvalidField, []string{"camera"}},
		{"missing asset", remove(func(s seedPair) string { return s.decoderAsset() }), nil, ErrMissingAsset, []string{seedDecoder + ".aimodel", seedDecoder + ".aimodelc", "vlmrt convert"}},
		{"missing extra asset", setMeta(func(m map[string]any) { m["assets"].(map[string]any)["draft"] = "draft.aimodel" }), nil, ErrMissingAsset, []string{"assets.draft", "draft.aimodel"}},
		{"asset without metadata", remove(func(s seedPair) string { return filepath.Join(s.decoderAsset(), MetadataFile) }), nil, ErrBadAsset, []string{"no metadata.json inside the asset"}},
		{"asset metadata malformed", func(t *testing.T, s seedPair) { writeFile(t, filepath.Join(s.decoderAsset(), MetadataFile), "{") }, nil, ErrBadAsset, []string{"malformed JSON"}},
		{"asset metadata without assetVersion", func(t *testing.T, s seedPair) {
			writeFile(t, filepath.Join(s.decoderAsset(), MetadataFile), `{"producer": "x"}`)
		}, nil, ErrBadAsset, []string{"assetVersion"}},
		{"asset is a file", func(t *testing.T, s seedPair) {
			os.RemoveAll(s.decoderAsset())
			writeFile(t, s.decoderAsset(), "x")
		}, nil, ErrBadAsset, []string{"is a file"}},
		{"path to the decoder .aimodel", nil, func(s seedPair) string { return s.decoderAsset() }, ErrAssetPath, []string{"give the bundle directory " + "", seedDecoder}},
		{"path to the vision .aimodel", nil, func(s seedPair) string { return s.visionAsset() }, ErrAssetPath, []string{seedVision}},
		{"path to a renamed asset", func(t *testing.T, s seedPair) { os.Rename(s.decoderAsset(), filepath.Join(s.decoder, "model")) },
			func(s seedPair) string { return filepath.Join(s.decoder, "model") }, ErrAssetPath, []string{"bundle directory"}},
		{"path to a file", nil, func(s seedPair) string { return filepath.Join(s.decoderAsset(), "main.mlirb") }, ErrNoMetadata, []string{"is a file"}},
		{"tokenizer missing", remove(func(s seedPair) string { return filepath.Join(s.decoder, TokenizerDir, "tokenizer.json.gz") }), nil, ErrMissingTokenizer, []string{"embedded_tokenizer", "tokenizer.json"}},
		{"vision missing", remove(func(s seedPair) string { return s.vision }), nil, ErrVisionMissing, []string{seedVision}},
		{"vision missing via parent", remove(func(s seedPair) string { return s.vision }), func(s seedPair) string { return s.pipelined }, ErrVisionMissing, []string{seedVision}},
		{"vision bundle empty", remove(func(s seedPair) string { return s.visionAsset() }), nil, ErrVisionMissing, []string{"neither metadata.json nor"}},
		{"vision named in metadata missing", setMeta(func(m map[string]any) { language(m)["vision"] = map[string]any{"bundle": "other_vision"} }), nil, ErrVisionMissing, []string{"other_vision"}},
		{"vision bundle is a decoder", setMeta(func(m map[string]any) { language(m)["vision"] = map[string]any{"bundle": seedDecoder} }), nil, ErrVisionMismatch, []string{"not a vision encoder"}},
		{"vision hidden size mismatch", encoderMeta(2048, 196), nil, ErrVisionMismatch, []string{"2048", "2560", "hidden size"}},
		{"vision image token mismatch", encoderMeta(2560, 256), nil, ErrVisionMismatch, []string{"256", "196", "image tokens"}},
		{"vision mismatch via the vision path", encoderMeta(2048, 196), func(s seedPair) string { return s.vision }, ErrVisionMismatch, []string{"2048"}},
		{"vision without decoder", remove(func(s seedPair) string { return s.decoder }), func(s seedPair) string { return s.vision }, ErrDecoderMissing, []string{"no decoder bundle"}},
		{"vision without decoder via parent", remove(func(s seedPair) string { return s.decoder }), func(s seedPair) string { return s.pipelined }, ErrDecoderMissing, []string{seedVision}},
		{"two decoders", func(t *testing.T, s seedPair) {
			copyTree(t, s.decoder, filepath.Join(s.pipelined, "qwen3_vl_4b_instruct_decode_int8lin"))
		}, func(s seedPair) string { return s.pipelined }, ErrAmbiguous, []string{seedDecoder, "qwen3_vl_4b_instruct_decode_int8lin"}},
		{"two decoders via the vision path", func(t *testing.T, s seedPair) {
			copyTree(t, s.decoder, filepath.Join(s.pipelined, "qwen3_vl_4b_instruct_decode_int8lin"))
		}, func(s seedPair) string { return s.vision }, ErrAmbiguous, []string{"int8lin"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSeedPair(t)
			if tc.break_ != nil {
				tc.break_(t, s)
			}
			p := s.decoder
			if tc.path != nil {
				p = tc.path(s)
			}
			loc, err := Resolve(p)
			if err == nil {
				t.Fatalf("Resolve(%s) = %s, want %v", p, loc.Describe(), tc.want)
			}
			t.Log(err)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Resolve(%s): %v\nwant errors.Is %v", p, err, tc.want)
			}
			for _, sub := range tc.msg {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("error %q does not mention %q", err, sub)
				}
			}
			for _, other := range allSentinels {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("error %v also matches %v", err, other)
				}
			}
		})
	}
}

// decMetaName is how error messages name the decoder's metadata file.
var decMetaName = filepath.Join(seedDecoder, MetadataFile)

var allSentinels = []error{
	ErrNotFound, ErrNoMetadata, ErrMalformedMetadata, ErrUnsupportedVersion, ErrWrongKind, ErrMissingField,
	ErrInvalidField, ErrMissingAsset, ErrBadAsset, ErrAssetPath, ErrMissingTokenizer, ErrVisionMissing,
	ErrVisionMismatch, ErrDecoderMissing, ErrAmbiguous, ErrNoPortableWeights, ErrExists,
}

// TestResolvePicksNamedDecoderAmongSeveral: with two decoders in one folder,
// naming either directory still resolves.
func TestResolvePicksNamedDecoderAmongSeveral(t *testing.T) {
	s := newSeedPair(t)
	other := filepath.Join(s.pipelined, "qwen3_vl_4b_instruct_decode_int8lin")
	copyTree(t, s.decoder, other)
	for _, d := range []string{s.decoder, other} {
		loc, err := Resolve(d)
		if err != nil {
			t.Fatal(err)
		}
		if loc.Decoder.Dir != d || loc.Vision.Dir != s.vision {
			t.Errorf("Resolve(%s): decoder %s vision %s", d, loc.Decoder.Dir, loc.Vision.Dir)
		}
	}
}

// TestResolveIgnoresStagingDirectories: a hidden directory left by an
// interrupted conversion is not taken for a bundle.
func TestResolveIgnoresStagingDirectories(t *testing.T) {
	s := newSeedPair(t)
	copyTree(t, s.decoder, filepath.Join(s.pipelined, stagePrefix+"123", seedDecoder))
	copyTree(t, s.decoder, filepath.Join(s.pipelined, stagePrefix+"456"))
	if _, err := Resolve(s.pipelined); err != nil {
		t.Fatal(err)
	}
}

func TestParseMetadataDefaults(t *testing.T) {
	m, err := ParseMetadata([]byte(`{"metadata_version": "0.2", "kind": "vlm", "name": "n", "assets": {"main": "n.aimodel"},
		"language": {"tokenizer": "t", "vocab_size": 10, "max_context_length": 20}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !m.Language.HasEmbeddedTokenizer() || m.IsEncoder() {
		t.Errorf("defaults: embedded %v encoder %v", m.Language.HasEmbeddedTokenizer(), m.IsEncoder())
	}
	m, err = ParseMetadata([]byte(`{"metadata_version": "0.2", "kind": "llm", "name": "n", "assets": {"main": "n.aimodel"},
		"language": {"tokenizer": "t", "vocab_size": 10, "max_context_length": 20, "embedded_tokenizer": false}}`))
	if err != nil || m.Language.HasEmbeddedTokenizer() {
		t.Errorf("embedded_tokenizer false: %v %v", err, m)
	}
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
