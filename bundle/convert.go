package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ConvertOptions tunes Convert and ConvertInto.
type ConvertOptions struct {
	// Name is the base of the bundle names; by default it is derived from the
	// checkpoint (see BundleNames).
	Name string
	// TokenizerID is recorded as language.tokenizer; by default the
	// checkpoint's Hugging Face repository id when known, else the base name.
	TokenizerID string
	// RoundToFP16 stores every float tensor (embedding, norms, vision
	// weights) as float16, as the Core AI bundles do, rounding the values
	// float16 cannot hold (it has fewer exponent bits than bf16: values below
	// 2⁻¹⁴ lose bits, an absolute change below 2⁻²⁵ each). By default a float
	// tensor float16 cannot hold exactly keeps the checkpoint's 16-bit dtype
	// instead (same size), so the converted model computes bit-identically to
	// the checkpoint quantized at load.
	RoundToFP16 bool
	// Progress, if set, is called as weights are written with the bytes done
	// and the total (the weights dominate: metadata and tokenizer files are small).
	Progress func(done, total int64)
	// Notice, if set, is told of recovery work: staging left by an
	// interrupted conversion removed, or a half-renamed pair redone.
	Notice func(msg string)
}

// pendingMarker is written into outDir just before the staged pair is
// renamed into place and removed once both renames are durable: if it is
// still there, the pair in outDir may be half renamed (vision without
// decoder), and the next Convert redoes it.
const pendingMarker = ".vlmrt-convert-pending"

// recoverInterrupted cleans what a killed Convert into outDir left behind:
// staging directories (never loadable: Resolve skips them) and a vision
// bundle renamed without its decoder. It reports what it did.
func recoverInterrupted(outDir, decName, visName string, notice func(string)) error {
	entries, err := os.ReadDir(outDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), stagePrefix) && e.IsDir() {
			if err := os.RemoveAll(filepath.Join(outDir, e.Name())); err != nil {
				return err
			}
			notice(fmt.Sprintf("removed %s, the staging directory of an interrupted conversion", e.Name()))
		}
	}
	marker := filepath.Join(outDir, pendingMarker)
	if !exists(marker) {
		return nil
	}
	if !exists(filepath.Join(outDir, decName)) {
		if err := os.RemoveAll(filepath.Join(outDir, visName)); err != nil {
			return err
		}
		notice(fmt.Sprintf("a conversion into %s was interrupted while moving %s into place; redoing it", outDir, visName))
	}
	return os.Remove(marker)
}

// stagePrefix names the hidden staging directories; Resolve skips them, so a
// crash mid-conversion leaves nothing that loads.
const stagePrefix = ".vlmrt-convert-"

// Convert writes a portable bundle pair for the checkpoint into outDir:
// outDir/<base>_decode_int8hu_s1/ (metadata.json, config.json, tokenizer/,
// <name>.safetensors with int8 decoder linears and head plus float16
// embedding and norms) and outDir/<base>_vision/ (metadata.json,
// config.json, <name>.safetensors with the float16 vision tower). Weights
// are streamed tensor by tensor, row by row. Everything is written into a
// hidden staging directory inside outDir, checked by Resolve, then renamed
// into place, vision first and decoder last: until the decoder appears no
// pair resolves, so an interrupted conversion (ctx cancelled, crash) never
// leaves a bundle that loads.
func Convert(ctx context.Context, checkpointDir, outDir string, opts ConvertOptions) (err error) {
	decName, visName, err := BundleNames(checkpointDir, opts)
	if err != nil {
		return err
	}
	ck, err := OpenCheckpoint(checkpointDir)
	if err != nil {
		return err
	}
	defer ck.Close()
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	notice := opts.Notice
	if notice == nil {
		notice = func(string) {}
	}
	if err := recoverInterrupted(outDir, decName, visName, notice); err != nil {
		return err
	}
	for _, n := range []string{decName, visName} {
		if p := filepath.Join(outDir, n); exists(p) {
			return errorf(ErrExists, p, "remove it first or convert into another directory")
		}
	}
	stage, err := os.MkdirTemp(outDir, stagePrefix)
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)

	decDir, visDir := filepath.Join(stage, decName), filepath.Join(stage, visName)
	for _, d := range []string{decDir, visDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	if err := writeWeights(ctx, ck, filepath.Join(decDir, decName+".safetensors"), filepath.Join(visDir, visName+".safetensors"), opts); err != nil {
		return err
	}
	for _, d := range []string{decDir, visDir} {
		if err := copyFileSync(filepath.Join(ck.Dir, ConfigFile), filepath.Join(d, ConfigFile)); err != nil {
			return err
		}
	}
	embedded, err := copyTokenizer(ck.Dir, filepath.Join(decDir, TokenizerDir))
	if err != nil {
		return err
	}
	meta := newPortableMetadata(ck, opts, decName, visName, embedded)
	if err := writeMetadata(decDir, meta.decoder); err != nil {
		return err
	}
	if err := writeMetadata(visDir, meta.vision); err != nil {
		return err
	}
	// The staged pair must read back through the same checks users get.
	if _, err := Resolve(decDir); err != nil {
		return fmt.Errorf("converted bundle failed validation: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	marker := filepath.Join(outDir, pendingMarker)
	if err := os.WriteFile(marker, []byte(visName+"\n"+decName+"\n"), 0o644); err != nil {
		return err
	}
	if err := syncDir(outDir); err != nil {
		return err
	}
	if err := os.Rename(visDir, filepath.Join(outDir, visName)); err != nil {
		return err
	}
	if err := os.Rename(decDir, filepath.Join(outDir, decName)); err != nil {
		os.RemoveAll(filepath.Join(outDir, visName))
		return err
	}
	if err := syncDir(outDir); err != nil {
		return err
	}
	if err := os.Remove(marker); err != nil {
		return err
	}
	return syncDir(outDir)
}

// ConvertInto adds portable weights to an existing Core AI bundle pair
// (given as either bundle, their parent or the gpu-pipelined/ folder),
// so the same directories serve Core AI and the portable engines. Each
// bundle gains <asset name>.safetensors and config.json beside its .aimodel,
// which is never touched. Files are staged inside each bundle and renamed
// into place with the decoder's weights last; a bundle counts as having
// portable weights only when both bundles have both files, so an
// interrupted run leaves the Core AI pair as it was (at most without
// portable weights).
func ConvertInto(ctx context.Context, checkpointDir, bundlePath string, opts ConvertOptions) error {
	loc, err := Resolve(bundlePath)
	if err != nil {
		return err
	}
	if loc.Kind != KindCoreAI {
		return fmt.Errorf("%s is a %s; --into needs a Core AI bundle (use --out to write a new portable bundle)", bundlePath, loc.Kind)
	}
	ck, err := OpenCheckpoint(checkpointDir)
	if err != nil {
		return err
	}
	defer ck.Close()
	if v := *loc.Decoder.Meta.Language.VocabSize; v != ck.Config.Text.VocabSize {
		return errorf(ErrInvalidField, loc.Decoder.Dir, "the bundle's language.vocab_size is %d but the checkpoint's is %d: not the same model", v, ck.Config.Text.VocabSize)
	}
	decWeights := filepath.Join(loc.Decoder.Dir, assetStem(loc.Decoder.Meta.Assets["main"])+".safetensors")
	visWeights := filepath.Join(loc.Vision.Dir, assetStem(filepath.Base(loc.Vision.Asset))+".safetensors")
	if loc.Vision.Meta != nil {
		visWeights = filepath.Join(loc.Vision.Dir, assetStem(loc.Vision.Meta.Assets["main"])+".safetensors")
	}

	decStage, err := os.MkdirTemp(loc.Decoder.Dir, stagePrefix)
	if err != nil {
		return err
	}
	defer os.RemoveAll(decStage)
	visStage, err := os.MkdirTemp(loc.Vision.Dir, stagePrefix)
	if err != nil {
		return err
	}
	defer os.RemoveAll(visStage)
	stagedDec, stagedVis := filepath.Join(decStage, filepath.Base(decWeights)), filepath.Join(visStage, filepath.Base(visWeights))
	if err := writeWeights(ctx, ck, stagedDec, stagedVis, opts); err != nil {
		return err
	}
	for _, d := range []string{decStage, visStage} {
		if err := copyFileSync(filepath.Join(ck.Dir, ConfigFile), filepath.Join(d, ConfigFile)); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Commit: first withdraw any older decoder weights so no step pairs old
	// and new files, then move the vision files, the decoder config, and
	// the decoder weights last.
	if err := os.Remove(decWeights); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	moves := [][2]string{
		{filepath.Join(visStage, ConfigFile), filepath.Join(loc.Vision.Dir, ConfigFile)},
		{stagedVis, visWeights},
		{filepath.Join(decStage, ConfigFile), filepath.Join(loc.Decoder.Dir, ConfigFile)},
		{stagedDec, decWeights},
	}
	for _, m := range moves {
		if err := os.Rename(m[0], m[1]); err != nil {
			return err
		}
	}
	if err := syncDir(loc.Vision.Dir); err != nil {
		return err
	}
	return syncDir(loc.Decoder.Dir)
}

// writeWeights streams the checkpoint into the decoder and vision files.
func writeWeights(ctx context.Context, ck *Checkpoint, decPath, visPath string, opts ConvertOptions) error {
	p, err := makePlan(ctx, ck.Config, ck.Tensors, !opts.RoundToFP16)
	if err != nil {
		return fmt.Errorf("%s: %w", ck.Dir, err)
	}
	c := newConverter(ctx, ck.Tensors, p, opts.Progress)
	meta := map[string]string{"format": "pt", "converter": "vlmrt", "quantization": "int8 per-row blocks of 32, float16 absmax scales"}
	if err := c.writeFile(visPath, p.vision, meta); err != nil {
		return fmt.Errorf("writing %s: %w", visPath, err)
	}
	if err := c.writeFile(decPath, p.decoder, meta); err != nil {
		return fmt.Errorf("writing %s: %w", decPath, err)
	}
	return nil
}

// portableMetadata is the pair of metadata.json files of a converted bundle.
type portableMetadata struct{ decoder, vision *Metadata }

func newPortableMetadata(ck *Checkpoint, opts ConvertOptions, decName, visName string, embedded bool) portableMetadata {
	cfg := ck.Config
	name, repo := checkpointName(ck.Dir)
	tok := opts.TokenizerID
	if tok == "" {
		tok = repo
	}
	if tok == "" {
		tok = name
	}
	vocab, ctxLen := cfg.Text.VocabSize, cfg.Text.MaxPositions
	if ctxLen <= 0 {
		ctxLen = 4096 // config.json without max_position_embeddings: the Core AI exporters' default
	}
	source, _ := json.Marshal(map[string]string{"model_definition": "huggingface", "hf_model_id": repo, "checkpoint": name, "converter": "vlmrt"})
	if repo == "" {
		source, _ = json.Marshal(map[string]string{"model_definition": "huggingface", "checkpoint": name, "converter": "vlmrt"})
	}
	vision := func(role, bundle string) *Vision {
		return &Vision{Role: role, Bundle: bundle, HiddenSize: cfg.Vision.OutHiddenSize,
			ImageTokens: FixedGridTokens(&cfg.Vision), DeepstackLayers: len(cfg.Vision.DeepstackIndexes)}
	}
	lang := func(v *Vision) *Language {
		vs, cl := vocab, ctxLen
		return &Language{Tokenizer: tok, VocabSize: &vs, MaxContextLength: &cl, EmbeddedTokenizer: &embedded, Vision: v}
	}
	floats := "embedding, norms (rounded to the nearest float16)"
	if !opts.RoundToFP16 {
		floats = "embedding, norms (float16 where exact, else the checkpoint dtype)"
	}
	compression, _ := json.Marshal(map[string]any{
		"scheme": "int8hu", "block_size": 32, "scale_dtype": "float16",
		"int8": "decoder linears (q, k, v, o, gate, up, down) and lm_head", "float16": floats,
	})
	notEmbedded := false
	return portableMetadata{
		decoder: &Metadata{MetadataVersion: MetadataVersion, Kind: "vlm", Name: decName,
			Assets: map[string]string{"main": decName + ".safetensors"}, Language: lang(vision(RoleDecoder, visName)),
			Source: source, Compression: compression},
		vision: &Metadata{MetadataVersion: MetadataVersion, Kind: "vlm", Name: visName,
			Assets: map[string]string{"main": visName + ".safetensors"},
			Language: func() *Language {
				l := lang(vision(RoleEncoder, ""))
				l.EmbeddedTokenizer = &notEmbedded // the tokenizer lives with the decoder
				return l
			}(),
			Source: source},
	}
}

func writeMetadata(dir string, m *Metadata) error {
	if err := m.Validate(); err != nil {
		return err
	}
	data, err := m.encode()
	if err != nil {
		return err
	}
	return writeFileSync(filepath.Join(dir, MetadataFile), data)
}

// isTokenizerFile says which checkpoint files belong in a bundle's
// tokenizer/ directory: the Hugging Face tokenizer files, the chat template,
// and generation_config.json (read by vlmrt's tokenizer package beside them).
func isTokenizerFile(name string) bool {
	switch name {
	case "vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json", "generation_config.json":
		return true
	}
	return strings.HasPrefix(name, "tokenizer") || strings.HasPrefix(name, "chat_template") || strings.HasSuffix(name, ".jinja")
}

// copyTokenizer copies the checkpoint's tokenizer files (from its root or
// its tokenizer/ subdirectory) into dst; it reports whether a tokenizer.json
// was among them.
func copyTokenizer(ckDir, dst string) (bool, error) {
	files := map[string]string{}
	for _, dir := range []string{filepath.Join(ckDir, TokenizerDir), ckDir} { // root files win
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if p := filepath.Join(dir, e.Name()); isTokenizerFile(e.Name()) && isFile(p) {
				files[e.Name()] = p
			}
		}
	}
	if len(files) == 0 {
		return false, nil
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		return false, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := copyFileSync(files[n], filepath.Join(dst, n)); err != nil {
			return false, err
		}
	}
	return hasTokenizerFile(dst), nil
}

// copyFileSync copies src to dst and flushes it to disk.
func copyFileSync(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes renames into dir durable where the OS supports it.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	_ = d.Sync() // some filesystems refuse fsync on directories; the renames still happened
	return nil
}
