package bundle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vlmrt/vlmrt/config"
)

// Kind says what a resolved path holds.
type Kind int

const (
	// KindCheckpoint is a Hugging Face checkpoint directory (config.json + safetensors).
	KindCheckpoint Kind = iota + 1
	// KindPortable is a decoder + vision pair written by Convert: safetensors only.
	KindPortable
	// KindCoreAI is Apple's Core AI bundle pair (.aimodel assets), possibly
	// with portable weights added by ConvertInto (see Location.HasPortableWeights).
	KindCoreAI
)

func (k Kind) String() string {
	switch k {
	case KindCheckpoint:
		return "Hugging Face checkpoint"
	case KindPortable:
		return "converted portable bundle"
	case KindCoreAI:
		return "Core AI bundle"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ConfigFile is the Hugging Face model configuration, in checkpoints and in
// bundles that carry portable weights.
const ConfigFile = "config.json"

// TokenizerDir is the bundle subdirectory holding the Hugging Face tokenizer files.
const TokenizerDir = "tokenizer"

// fixedImageSide is the side of the fixed-grid input image (docs/design.md §2):
// every image becomes (448 / (patch·merge))² = 196 image tokens.
const fixedImageSide = config.FixedImageSize

// Bundle is one directory of a decoder/vision pair.
type Bundle struct {
	Dir string
	// Meta is the bundle's metadata.json; nil for a Core AI vision bundle,
	// which Apple's exporter ships as a bare folder holding the .aimodel.
	Meta *Metadata
	// Asset is the Core AI model directory (.aimodel, or the .aimodelc
	// fallback); "" in a converted portable bundle, and in a Core AI bundle
	// fetched without its asset but with converted weights.
	Asset     string
	AssetInfo *AssetInfo
	// Weights is the portable safetensors file, "" if the bundle has none.
	Weights string
	// Config is the bundle's config.json, "" if it has none.
	Config string
}

// Location is what Resolve found: where the configuration, weights,
// tokenizer and vision encoder of one model are.
type Location struct {
	Kind Kind
	// Path is the path Resolve was given.
	Path string
	// Checkpoint is the checkpoint directory (KindCheckpoint only).
	Checkpoint string
	// Decoder and Vision are the two bundles (nil for a checkpoint).
	Decoder, Vision *Bundle
	// Config is the config.json to load, "" for a Core AI pair without portable weights.
	Config string
	// Tokenizer is the directory to give tokenizer.Load, "" when the files
	// are not present locally (then TokenizerID names their Hugging Face repository).
	Tokenizer   string
	TokenizerID string
}

// HasPortableWeights reports whether the portable (CPU) engines can load this
// location: a checkpoint, a converted bundle, or a Core AI pair with
// converted weights added to both bundles.
func (l *Location) HasPortableWeights() bool {
	switch l.Kind {
	case KindCheckpoint:
		return true
	case KindPortable, KindCoreAI:
		return l.Decoder.Weights != "" && l.Vision.Weights != "" && l.Config != ""
	}
	return false
}

// Describe is a one-line summary for logs and CLI output.
func (l *Location) Describe() string {
	switch l.Kind {
	case KindCheckpoint:
		return fmt.Sprintf("%s %s", l.Kind, l.Checkpoint)
	case KindCoreAI:
		extra := " (no portable weights)"
		if l.HasPortableWeights() {
			extra = " with portable weights"
		}
		if l.Decoder.Asset == "" || l.Vision.Asset == "" {
			extra += ", Core AI assets not present"
		}
		return fmt.Sprintf("%s %s + %s%s", l.Kind, l.Decoder.Dir, filepath.Base(l.Vision.Dir), extra)
	}
	return fmt.Sprintf("%s %s + %s", l.Kind, l.Decoder.Dir, filepath.Base(l.Vision.Dir))
}

// Resolve says what path is and where its parts are. path may be a Hugging
// Face checkpoint directory; either directory of a decoder/vision bundle pair
// (Core AI or converted); the folder holding the pair (such as the published
// repository's gpu-pipelined/); or a folder whose gpu-pipelined/ holds it.
// Every failure wraps one of the package's sentinel errors.
func Resolve(path string) (*Location, error) {
	p := filepath.Clean(path)
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errorf(ErrNotFound, p, "nothing at this path")
		}
		return nil, err
	}
	if !st.IsDir() {
		if base := filepath.Base(p); base == MetadataFile || base == ConfigFile {
			p = filepath.Dir(p) // the descriptor stands for its directory
		} else {
			return nil, errorf(ErrNoMetadata, p, "is a file; give the bundle or checkpoint directory")
		}
	}
	loc, err := resolveDir(p)
	if err != nil {
		return nil, err
	}
	loc.Path = path
	return loc, nil
}

func resolveDir(p string) (*Location, error) {
	if looksLikeAsset(p) {
		parent := filepath.Dir(p)
		return nil, errorf(ErrAssetPath, p, "this is the Core AI model inside a bundle; give the bundle directory %s instead", parent)
	}
	if exists(filepath.Join(p, MetadataFile)) {
		return resolveBundle(p)
	}
	if IsCheckpoint(p) {
		return checkpointLocation(p), nil
	}
	asset, err := singleAsset(p)
	if err != nil {
		return nil, err
	}
	if asset == "" && bareVisionWeights(p) != "" {
		return resolveFromVision(p)
	}
	if asset != "" {
		if bareVision(p) {
			return resolveFromVision(p)
		}
		return nil, errorf(ErrNoMetadata, p, "holds %s but no metadata.json beside it; a LanguageBundle needs both (incomplete download or copy?)", filepath.Base(asset))
	}
	return resolveFolder(p)
}

// bareVision reports whether a folder holding an .aimodel without
// metadata.json is a vision bundle as Apple's exporter writes it (named
// <model>_vision, holding only the asset) rather than a decoder bundle that
// lost its metadata.json.
func bareVision(dir string) bool {
	base := filepath.Base(dir)
	if strings.HasSuffix(base, visionSuffix) {
		return true
	}
	return !strings.Contains(base, "_decode") && !isDir(filepath.Join(dir, TokenizerDir))
}

// checkpointLocation describes a Hugging Face checkpoint directory.
func checkpointLocation(dir string) *Location {
	loc := &Location{Kind: KindCheckpoint, Checkpoint: dir, Config: filepath.Join(dir, ConfigFile)}
	if hasTokenizerFile(dir) || hasTokenizerFile(filepath.Join(dir, TokenizerDir)) {
		loc.Tokenizer = dir
	}
	return loc
}

// resolveFolder handles a directory holding bundles: the pair's parent, the
// gpu-pipelined/ folder, or the repository root above it.
func resolveFolder(p string) (*Location, error) {
	for _, dir := range []string{p, filepath.Join(p, "gpu-pipelined")} {
		decoders, visions := scanBundles(dir)
		switch {
		case len(decoders) == 1:
			return resolveBundle(decoders[0])
		case len(decoders) > 1:
			names := make([]string, len(decoders))
			for i, d := range decoders {
				names[i] = filepath.Base(d)
			}
			return nil, errorf(ErrAmbiguous, dir, "holds several decoder bundles (%s); give the one to use", strings.Join(names, ", "))
		case len(visions) > 0:
			return nil, errorf(ErrDecoderMissing, dir, "holds the vision bundle %s but no decoder bundle (a directory with metadata.json beside it)", filepath.Base(visions[0]))
		}
	}
	return nil, errorf(ErrNoMetadata, p, "not a bundle (no metadata.json), not a Hugging Face checkpoint (no config.json + model.safetensors), and no bundle directories inside")
}

// scanBundles lists dir's subdirectories that are decoder bundles (hold a
// metadata.json that is not a vision encoder's; broken ones included so the
// caller reports their error) and vision bundles.
func scanBundles(dir string) (decoders, visions []string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || isAssetName(e.Name()) {
			continue // hidden entries include interrupted conversions' staging directories
		}
		sub := filepath.Join(dir, e.Name())
		if exists(filepath.Join(sub, MetadataFile)) {
			if m, err := ReadMetadata(sub); err == nil && m.IsEncoder() {
				visions = append(visions, sub)
			} else {
				decoders = append(decoders, sub)
			}
			continue
		}
		if bareVisionWeights(sub) != "" {
			visions = append(visions, sub)
			continue
		}
		if a, err := singleAsset(sub); err == nil && a != "" {
			if bareVision(sub) {
				visions = append(visions, sub)
			} else {
				decoders = append(decoders, sub) // lost its metadata.json: resolving it says so
			}
		}
	}
	sort.Strings(decoders)
	return decoders, visions
}

// resolveBundle resolves a directory holding metadata.json.
func resolveBundle(dir string) (*Location, error) {
	m, err := ReadMetadata(dir)
	if err != nil {
		return nil, err
	}
	if m.IsEncoder() {
		return resolveFromVision(dir)
	}
	dec, err := openBundle(dir, m)
	if err != nil {
		return nil, err
	}
	visDir, err := findVision(dir, m)
	if err != nil {
		return nil, err
	}
	vis, err := openVision(visDir)
	if err != nil {
		return nil, err
	}
	loc := &Location{Decoder: dec, Vision: vis, TokenizerID: m.Language.Tokenizer}
	if strings.HasSuffix(m.Assets["main"], ".safetensors") {
		loc.Kind = KindPortable
		if vis.Weights == "" {
			return nil, errorf(ErrNoPortableWeights, visDir, "the converted decoder %s needs converted vision weights here (%s)", filepath.Base(dir), "convert again with vlmrt convert")
		}
	} else {
		loc.Kind = KindCoreAI
	}
	if dec.Weights != "" && vis.Weights != "" {
		loc.Config = dec.Config
	}
	if m.Language.HasEmbeddedTokenizer() {
		tok := filepath.Join(dir, TokenizerDir)
		if !hasTokenizerFile(tok) {
			return nil, errorf(ErrMissingTokenizer, dir, "embedded_tokenizer is true but %s has no tokenizer.json", tok)
		}
		loc.Tokenizer = tok
	}
	if err := checkPair(dec, vis); err != nil {
		return nil, err
	}
	return loc, nil
}

// openBundle checks a bundle's assets and finds its weights and config.
func openBundle(dir string, m *Metadata) (*Bundle, error) {
	b := &Bundle{Dir: dir, Meta: m}
	main := m.Assets["main"]
	if strings.HasSuffix(main, ".safetensors") {
		b.Weights = filepath.Join(dir, main)
		if !isFile(b.Weights) {
			return nil, errorf(ErrMissingAsset, dir, "assets.main names %s, which does not exist (an interrupted conversion?)", main)
		}
		b.Config = filepath.Join(dir, ConfigFile)
		if !isFile(b.Config) {
			return nil, errorf(ErrMissingAsset, dir, "a converted bundle needs %s beside %s", ConfigFile, main)
		}
	} else {
		b.addPortable(assetStem(main))
		asset, err := locateAsset(dir, main)
		switch {
		case err != nil && b.Weights != "":
			// The .aimodel was not fetched (only Core AI reads it); the
			// converted weights beside it still serve the portable engines.
		case err != nil:
			var pe *pathError
			if errors.As(err, &pe) {
				pe.msg += "; the portable engines would need converted weights instead (vlmrt convert --from CHECKPOINT --into " + dir + ")"
			}
			return nil, err
		default:
			if b.AssetInfo, err = readAssetInfo(asset); err != nil {
				return nil, err
			}
			b.Asset = asset
		}
	}
	roles := make([]string, 0, len(m.Assets))
	for r := range m.Assets {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, role := range roles {
		name := m.Assets[role]
		if role == "main" {
			continue
		}
		p := filepath.Join(dir, name)
		if exists(p) || strings.HasSuffix(name, AssetSuffix) && exists(p+"c") {
			continue
		}
		return nil, errorf(ErrMissingAsset, dir, "assets.%s names %s, which does not exist", role, name)
	}
	return b, nil
}

// addPortable records converted weights that ConvertInto put beside a Core
// AI asset: <stem>.safetensors plus config.json, both required.
func (b *Bundle) addPortable(stem string) {
	w, c := filepath.Join(b.Dir, stem+".safetensors"), filepath.Join(b.Dir, ConfigFile)
	if isFile(w) && isFile(c) {
		b.Weights, b.Config = w, c
	}
}

// openVision opens a vision bundle: a converted one (metadata.json with the
// encoder role) or Apple's bare folder holding the vision .aimodel.
func openVision(dir string) (*Bundle, error) {
	if exists(filepath.Join(dir, MetadataFile)) {
		m, err := ReadMetadata(dir)
		if err != nil {
			return nil, err
		}
		if !m.IsEncoder() {
			return nil, errorf(ErrVisionMismatch, dir, "this is a decoder bundle, not a vision encoder (its metadata.json has no language.vision.role %q)", RoleEncoder)
		}
		return openBundle(dir, m)
	}
	asset, err := singleAsset(dir)
	if err != nil {
		return nil, err
	}
	if asset == "" {
		if w := bareVisionWeights(dir); w != "" { // its .aimodel was not fetched
			return &Bundle{Dir: dir, Weights: w, Config: filepath.Join(dir, ConfigFile)}, nil
		}
		return nil, errorf(ErrVisionMissing, dir, "holds neither metadata.json nor an %s vision model", AssetSuffix)
	}
	b := &Bundle{Dir: dir, Asset: asset}
	if b.AssetInfo, err = readAssetInfo(asset); err != nil {
		return nil, err
	}
	b.addPortable(assetStem(filepath.Base(asset)))
	return b, nil
}

// bareVisionWeights returns the converted weights of an Apple-style vision
// folder (no metadata.json) whose .aimodel is absent: config.json plus one
// <name>_vision.safetensors, as ConvertInto writes them. "" if it is not that.
func bareVisionWeights(dir string) string {
	if exists(filepath.Join(dir, MetadataFile)) || !isFile(filepath.Join(dir, ConfigFile)) {
		return ""
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*"+visionSuffix+".safetensors"))
	if len(matches) != 1 {
		return ""
	}
	return matches[0]
}

// findVision locates the decoder's vision bundle: named by
// language.vision.bundle, else the sibling the exporters' naming gives
// (<prefix>_decode_<mode> → <prefix>_vision).
func findVision(decDir string, m *Metadata) (string, error) {
	parent := filepath.Dir(decDir)
	if v := m.Language.Vision; v != nil && v.Bundle != "" {
		p := filepath.Join(parent, v.Bundle)
		if !isDir(p) {
			return "", errorf(ErrVisionMissing, decDir, "language.vision.bundle names %s, which is not beside the decoder (%s)", v.Bundle, p)
		}
		return p, nil
	}
	var tried []string
	for _, name := range []string{filepath.Base(decDir), m.Name} {
		p := filepath.Join(parent, visionNameFor(name))
		if isDir(p) {
			return p, nil
		}
		if len(tried) == 0 || tried[0] != p {
			tried = append(tried, p)
		}
	}
	return "", errorf(ErrVisionMissing, decDir, "no vision bundle beside the decoder: expected %s (holding its %s, or a converted vision bundle)", strings.Join(tried, " or "), AssetSuffix)
}

// visionNameFor maps a decoder bundle name to its vision bundle's name.
func visionNameFor(decoder string) string {
	if i := strings.LastIndex(decoder, "_decode"); i > 0 {
		return decoder[:i] + "_vision"
	}
	return decoder + "_vision"
}

// resolveFromVision resolves a vision bundle directory through the decoder
// bundle beside it that uses it.
func resolveFromVision(visDir string) (*Location, error) {
	decoders, _ := scanBundles(filepath.Dir(visDir))
	var users []string
	for _, d := range decoders {
		m, err := ReadMetadata(d)
		if err != nil {
			continue
		}
		if v, err := findVision(d, m); err == nil && filepath.Clean(v) == filepath.Clean(visDir) {
			users = append(users, d)
		}
	}
	switch len(users) {
	case 0:
		return nil, errorf(ErrDecoderMissing, visDir, "this is a vision bundle; no decoder bundle beside it uses it (expected a %s directory with metadata.json)", strings.TrimSuffix(filepath.Base(visDir), "_vision")+"_decode_*")
	case 1:
		return resolveBundle(users[0])
	}
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = filepath.Base(u)
	}
	return nil, errorf(ErrAmbiguous, visDir, "several decoder bundles use this vision bundle (%s); give the one to use", strings.Join(names, ", "))
}

// pairFacts are the numbers a decoder/vision pair must agree on, with where
// each came from for the error message.
type pairFacts struct {
	hidden, tokens       int
	hiddenSrc, tokensSrc string
}

// facts gathers a bundle's declared hidden size and image token count from
// its config.json and metadata; the two must agree with each other.
func (b *Bundle) facts(encoder bool) (pairFacts, error) {
	var f pairFacts
	if b.Config != "" {
		cfg, err := config.Load(b.Config)
		if err != nil {
			return f, errorf(ErrInvalidField, b.Config, "%v", err)
		}
		if encoder {
			f.hidden, f.hiddenSrc = cfg.Vision.OutHiddenSize, b.Config+" vision_config.out_hidden_size"
			f.tokens, f.tokensSrc = FixedGridTokens(&cfg.Vision), b.Config+" (fixed 448×448 grid)"
		} else {
			f.hidden, f.hiddenSrc = cfg.Text.HiddenSize, b.Config+" text_config.hidden_size"
		}
		if b.Meta != nil && *b.Meta.Language.VocabSize != cfg.Text.VocabSize {
			return f, errorf(ErrInvalidField, filepath.Join(b.Dir, MetadataFile), "language.vocab_size %d contradicts %s (vocab_size %d)", *b.Meta.Language.VocabSize, b.Config, cfg.Text.VocabSize)
		}
	}
	if b.Meta == nil || b.Meta.Language.Vision == nil {
		return f, nil
	}
	v, src := b.Meta.Language.Vision, filepath.Join(b.Dir, MetadataFile)
	if v.HiddenSize > 0 {
		if f.hidden > 0 && f.hidden != v.HiddenSize {
			return f, errorf(ErrInvalidField, src, "language.vision.hidden_size %d contradicts %s = %d", v.HiddenSize, f.hiddenSrc, f.hidden)
		}
		f.hidden, f.hiddenSrc = v.HiddenSize, src+" language.vision.hidden_size"
	}
	if v.ImageTokens > 0 {
		if f.tokens > 0 && f.tokens != v.ImageTokens {
			return f, errorf(ErrInvalidField, src, "language.vision.image_tokens %d contradicts %s = %d", v.ImageTokens, f.tokensSrc, f.tokens)
		}
		f.tokens, f.tokensSrc = v.ImageTokens, src+" language.vision.image_tokens"
	}
	return f, nil
}

// checkPair verifies the vision bundle produces what the decoder consumes,
// wherever both sides state it (Apple's bare vision folder states nothing).
func checkPair(dec, vis *Bundle) error {
	df, err := dec.facts(false)
	if err != nil {
		return err
	}
	vf, err := vis.facts(true)
	if err != nil {
		return err
	}
	if df.hidden > 0 && vf.hidden > 0 && df.hidden != vf.hidden {
		return errorf(ErrVisionMismatch, vis.Dir, "image embeddings are %d wide (%s) but the decoder %s has hidden size %d (%s)", vf.hidden, vf.hiddenSrc, filepath.Base(dec.Dir), df.hidden, df.hiddenSrc)
	}
	if df.tokens > 0 && vf.tokens > 0 && df.tokens != vf.tokens {
		return errorf(ErrVisionMismatch, vis.Dir, "produces %d image tokens per image (%s) but the decoder %s expects %d (%s)", vf.tokens, vf.tokensSrc, filepath.Base(dec.Dir), df.tokens, df.tokensSrc)
	}
	return nil
}

// FixedGridTokens is the number of image tokens one 448×448 image becomes.
func FixedGridTokens(v *config.Vision) int {
	side := v.PatchSize * v.SpatialMergeSize
	if side <= 0 {
		return 0
	}
	n := fixedImageSide / side
	return n * n
}

// hasTokenizerFile reports whether dir holds tokenizer.json (or the gzipped form).
func hasTokenizerFile(dir string) bool {
	return isFile(filepath.Join(dir, "tokenizer.json")) || isFile(filepath.Join(dir, "tokenizer.json.gz"))
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func isFile(p string) bool { st, err := os.Stat(p); return err == nil && st.Mode().IsRegular() }

func isDir(p string) bool { st, err := os.Stat(p); return err == nil && st.IsDir() }
