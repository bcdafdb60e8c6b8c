package bundle

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/quant"
	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/tokenizer"
)

// tinyCheckpoint is tiny-a as a user would have it: the checkpoint with its
// tokenizer files beside it (tiny-a itself ships none), in a directory
// named tiny-a.
func tinyCheckpoint(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tiny-a")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ConfigFile, "model.safetensors"} {
		abs, err := filepath.Abs(filepath.Join("..", "testdata", "tiny-a", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"tokenizer.json.gz", "tokenizer_config.json", "chat_template.jinja"} {
		copyFile(t, filepath.Join("..", "testdata", "tokenizer", f), filepath.Join(dir, f))
	}
	return dir
}

// progressLog records Progress calls.
type progressLog struct{ done, total []int64 }

func (p *progressLog) record(done, total int64) {
	p.done = append(p.done, done)
	p.total = append(p.total, total)
}

// check: monotonic, one total, ending at the total, which is the size of
// every tensor the converted files hold.
func (p *progressLog) check(t *testing.T, conv *safetensors.Set) {
	t.Helper()
	var want int64
	for _, n := range conv.Names() {
		tt, _ := conv.Tensor(n)
		want += int64(len(tt.Data))
	}
	if len(p.done) == 0 {
		t.Fatal("progress never called")
	}
	for i := range p.done {
		if p.total[i] != want {
			t.Fatalf("progress total %d, want %d (bytes of all converted tensors)", p.total[i], want)
		}
		if i > 0 && p.done[i] < p.done[i-1] {
			t.Fatalf("progress went backwards: %v", p.done)
		}
	}
	if last := p.done[len(p.done)-1]; last != want {
		t.Fatalf("progress ended at %d of %d", last, want)
	}
}

func TestConvertTinyA(t *testing.T) {
	ckDir := tinyCheckpoint(t)
	out := filepath.Join(t.TempDir(), "gpu-pipelined")
	var prog progressLog
	if err := Convert(context.Background(), ckDir, out, ConvertOptions{Progress: prog.record, RoundToFP16: true}); err != nil {
		t.Fatal(err)
	}
	decDir, visDir := filepath.Join(out, "tiny_a_decode_int8hu_s1"), filepath.Join(out, "tiny_a_vision")
	entries, _ := os.ReadDir(out)
	if len(entries) != 2 {
		t.Errorf("%s holds %d entries, want exactly the two bundles (staging removed)", out, len(entries))
	}
	for _, p := range []string{out, decDir, visDir, filepath.Dir(out)} {
		loc, err := Resolve(p)
		if err != nil {
			t.Fatalf("Resolve(%s): %v", p, err)
		}
		if loc.Kind != KindPortable || !loc.HasPortableWeights() || loc.Decoder.Dir != decDir || loc.Vision.Dir != visDir {
			t.Fatalf("Resolve(%s) = %s", p, loc.Describe())
		}
	}
	loc, _ := Resolve(decDir)
	if loc.Config != filepath.Join(decDir, ConfigFile) || loc.Tokenizer != filepath.Join(decDir, TokenizerDir) || loc.TokenizerID != "tiny-a" {
		t.Errorf("location: config %s tokenizer %s (%s)", loc.Config, loc.Tokenizer, loc.TokenizerID)
	}
	dm, vm := loc.Decoder.Meta, loc.Vision.Meta
	if dm.Kind != "vlm" || dm.Assets["main"] != "tiny_a_decode_int8hu_s1.safetensors" || *dm.Language.VocabSize != 151936 ||
		*dm.Language.MaxContextLength != 262144 || !dm.Language.HasEmbeddedTokenizer() {
		t.Errorf("decoder metadata: %+v %+v", dm, dm.Language)
	}
	wantVision := Vision{Role: RoleDecoder, Bundle: "tiny_a_vision", HiddenSize: 64, ImageTokens: 196, DeepstackLayers: 3}
	if *dm.Language.Vision != wantVision {
		t.Errorf("decoder language.vision = %+v, want %+v", *dm.Language.Vision, wantVision)
	}
	wantVision.Role, wantVision.Bundle = RoleEncoder, ""
	if vm == nil || *vm.Language.Vision != wantVision || vm.Assets["main"] != "tiny_a_vision.safetensors" {
		t.Errorf("vision metadata: %+v", vm)
	}
	// config.json is the checkpoint's, byte for byte.
	orig, _ := os.ReadFile(filepath.Join(ckDir, ConfigFile))
	for _, d := range []string{decDir, visDir} {
		if got, _ := os.ReadFile(filepath.Join(d, ConfigFile)); !bytes.Equal(got, orig) {
			t.Errorf("%s/config.json differs from the checkpoint's", d)
		}
	}
	tok, err := tokenizer.Load(loc.Tokenizer)
	if err != nil {
		t.Fatal(err)
	}
	if ids := tok.Encode("Hello world"); !slices.Equal(ids, []int32{9707, 1879}) { // testdata/tokenizer cases_dev dev-0001
		t.Errorf("bundle tokenizer encodes %v", ids)
	}

	conv, err := loc.OpenWeights()
	if err != nil {
		t.Fatal(err)
	}
	defer conv.Close()
	inexact := checkConvertedWeights(t, ckDir, conv, false)
	t.Logf("tiny-a: %d float values below float16's normal range were rounded", inexact)
	prog.check(t, conv)
	if len(prog.done) < 3 {
		t.Errorf("progress reported %d times over %d bytes, want intermediate reports", len(prog.done), prog.total[0])
	}

	// Loading maps the stored int8 weights: no quantization at load.
	const name = "model.language_model.layers.0.mlp.down_proj.weight"
	l, err := weights.LoadLinear(conv, name, 64, 128, weights.Int8)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := conv.Tensor(name)
	if unsafe.Pointer(&l.Q8.Q[0]) != unsafe.Pointer(&stored.Data[0]) {
		t.Error("LoadLinear copied the converted int8 weights instead of mapping them")
	}
}

// checkConvertedWeights compares a converted bundle's tensors with the
// checkpoint's: every checkpoint tensor is served under its own name;
// decoder linears and the head equal quant.Quantize of the checkpoint
// weights bit for bit; every other float tensor is float16 holding the
// nearest float16 of the checkpoint value, which for a bf16 value in
// float16's normal range (|x| ≥ 2⁻¹⁴) is the value itself. It returns how
// many values were rounded.
//
// With exact (the default; not ConvertOptions.RoundToFP16) a tensor float16 cannot hold
// exactly must instead be the checkpoint's bytes, unchanged.
func checkConvertedWeights(t *testing.T, ckDir string, conv *safetensors.Set, exact bool) (inexact int) {
	t.Helper()
	ck, err := OpenCheckpoint(ckDir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	expected := map[string]bool{}
	quantized := map[string]string{} // converted name → checkpoint source
	for _, n := range ck.Tensors.Names() {
		expected[n] = true
		if quantizedLinear.MatchString(n) || n == headTensor {
			quantized[n] = n
		}
	}
	if !ck.Tensors.Has(headTensor) {
		quantized[headTensor] = embedTensor
		expected[headTensor] = true
	}
	for n := range quantized {
		expected[n+weights.ScalesSuffix] = true
	}
	if got := conv.Names(); !slices.Equal(got, sortedNames(expected)) {
		t.Fatalf("converted tensors:\n%v\nwant\n%v", got, sortedNames(expected))
	}
	for name, srcName := range quantized {
		src, _ := ck.Tensors.Tensor(srcName)
		w, err := src.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		want, err := quant.Quantize(w, src.Shape[0], src.Shape[1])
		if err != nil {
			t.Fatal(err)
		}
		q, _ := conv.Tensor(name)
		s, _ := conv.Tensor(name + weights.ScalesSuffix)
		if q.DType != safetensors.I8 || !slices.Equal(q.Shape, src.Shape) || s.DType != safetensors.F16 ||
			!slices.Equal(s.Shape, []int{src.Shape[0], quant.BlocksPerRow(src.Shape[1])}) {
			t.Fatalf("%s: stored as %s%v + %s%v", name, q.DType, q.Shape, s.DType, s.Shape)
		}
		gq, _ := q.Int8s()
		gs, _ := s.Uint16s()
		if !slices.Equal(gq, want.Q) || !slices.Equal(gs, want.Scales) {
			t.Errorf("%s: int8 weights differ from quant.Quantize of %s", name, srcName)
		}
	}
	for _, name := range ck.Tensors.Names() {
		if _, ok := quantized[name]; ok {
			continue
		}
		src, _ := ck.Tensors.Tensor(name)
		got, _ := conv.Tensor(name)
		w, _ := src.Float32s()
		if exact && got.DType == src.DType && src.DType != safetensors.F16 {
			if !bytes.Equal(got.Data, src.Data) {
				t.Fatalf("%s: kept as %s but its bytes changed", name, got.DType)
			}
			lossy := false
			for _, x := range w {
				lossy = lossy || f16.ToF32(f16.FromF32(x)) != x
			}
			if !lossy {
				t.Fatalf("%s: float16 holds it exactly, yet it was kept as %s", name, got.DType)
			}
			continue
		}
		if !slices.Equal(got.Shape, src.Shape) || got.DType != safetensors.F16 {
			t.Fatalf("%s: stored as %s%v, checkpoint %s%v", name, got.DType, got.Shape, src.DType, src.Shape)
		}
		h, _ := got.Uint16s()
		for i, x := range w {
			y := f16.ToF32(h[i])
			// bf16 has fewer mantissa bits than float16: every bf16 value in
			// float16's normal range is exactly representable and must be kept.
			if src.DType == safetensors.BF16 && (math.Abs(float64(x)) >= 1.0/16384 || x == 0) && y != x {
				t.Fatalf("%s[%d]: float16 %v, checkpoint %v (representable, must be exact)", name, i, y, x)
			}
			if h[i] != f16.FromF32(x) {
				t.Fatalf("%s[%d]: float16 %v is not the nearest to %v", name, i, y, x)
			}
			if y != x {
				inexact++
			}
		}
	}
	return inexact
}

func TestConvertSyntheticUntied(t *testing.T) {
	ckDir := filepath.Join(t.TempDir(), "Synthetic-VL.2B")
	writeSynthCheckpoint(t, ckDir, synthDefault, 1, nil)
	out := t.TempDir()
	var prog progressLog
	if err := Convert(context.Background(), ckDir, out, ConvertOptions{Progress: prog.record, TokenizerID: "example/synthetic", RoundToFP16: true}); err != nil {
		t.Fatal(err)
	}
	loc, err := Resolve(out)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(loc.Decoder.Dir) != "synthetic_vl_2b_decode_int8hu_s1" || filepath.Base(loc.Vision.Dir) != "synthetic_vl_2b_vision" {
		t.Errorf("bundle names %s, %s", loc.Decoder.Dir, loc.Vision.Dir)
	}
	// No tokenizer files in the checkpoint: the bundle says where to get them.
	if loc.Tokenizer != "" || loc.TokenizerID != "example/synthetic" || loc.Decoder.Meta.Language.HasEmbeddedTokenizer() || exists(filepath.Join(loc.Decoder.Dir, TokenizerDir)) {
		t.Errorf("tokenizer: %q %q embedded %v", loc.Tokenizer, loc.TokenizerID, loc.Decoder.Meta.Language.HasEmbeddedTokenizer())
	}
	if v := loc.Decoder.Meta.Language.Vision; v.HiddenSize != 80 || v.ImageTokens != 196 || v.DeepstackLayers != 1 {
		t.Errorf("language.vision = %+v", *v)
	}
	conv, err := loc.OpenWeights()
	if err != nil {
		t.Fatal(err)
	}
	defer conv.Close()
	inexact := checkConvertedWeights(t, ckDir, conv, false)
	if inexact == 0 {
		t.Error("the synthetic checkpoint holds values below float16's normal range; none were rounded")
	}
	prog.check(t, conv)
	// The untied head comes from lm_head.weight, not from the embedding.
	head, _ := conv.Tensor(headTensor + weights.ScalesSuffix)
	ck, _ := OpenCheckpoint(ckDir)
	defer ck.Close()
	emb, _ := ck.Tensors.Tensor(embedTensor)
	ew, _ := emb.Float32s()
	eq, _ := quant.Quantize(ew, 300, 80)
	if hs, _ := head.Uint16s(); slices.Equal(hs, eq.Scales) {
		t.Error("untied head was quantized from the embedding")
	}
}

func TestConvertRejectsUnstorableValues(t *testing.T) {
	for _, tc := range []struct {
		tensor string
		at     int
		value  float32
		msg    string
	}{
		{"model.visual.blocks.1.norm2.weight", 5, 1e6, "outside the float16 range"},
		{"model.language_model.embed_tokens.weight", 1000, float32(math.NaN()), "element 1000 is NaN"},
		{"model.language_model.layers.1.mlp.up_proj.weight", 77, float32(math.Inf(-1)), "element 77 is -Inf"},
		{"lm_head.weight", 4001, 1e10, "row 50 block 0: its scale"},
	} {
		ckDir := filepath.Join(t.TempDir(), "bad")
		writeSynthCheckpoint(t, ckDir, synthDefault, 2, func(name string, v []float32) {
			if name == tc.tensor {
				v[tc.at] = tc.value
			}
		})
		out := t.TempDir()
		// Out-of-range values only fail when they must become float16; the
		// default keeps such a tensor in its own dtype. NaN/Inf always fail.
		err := Convert(context.Background(), ckDir, out, ConvertOptions{RoundToFP16: tc.value == 1e6})
		if err == nil || !strings.Contains(err.Error(), tc.tensor) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s[%d] = %v: Convert = %v, want an error naming the tensor and %q", tc.tensor, tc.at, tc.value, err, tc.msg)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("failed conversion left %v", entries)
		}
	}
}

// TestConvertExactFloats: values float16 cannot hold keep their tensor in
// the checkpoint's dtype, out-of-range values included.
func TestConvertExactByDefault(t *testing.T) {
	ckDir := filepath.Join(t.TempDir(), "big")
	writeSynthCheckpoint(t, ckDir, synthDefault, 2, func(name string, v []float32) {
		if name == "model.visual.blocks.1.norm2.weight" {
			v[5] = 1e6
		}
	})
	out := t.TempDir()
	if err := Convert(context.Background(), ckDir, out, ConvertOptions{}); err != nil {
		t.Fatal(err)
	}
	loc, err := Resolve(out)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := loc.OpenWeights()
	if err != nil {
		t.Fatal(err)
	}
	defer conv.Close()
	if n := checkConvertedWeights(t, ckDir, conv, true); n != 0 {
		t.Errorf("%d values rounded in exact mode", n)
	}
	dtypes := map[safetensors.DType]int{}
	for _, n := range conv.Names() {
		tt, _ := conv.Tensor(n)
		dtypes[tt.DType]++
	}
	if dtypes[safetensors.F16] == 0 || dtypes[safetensors.BF16] == 0 || dtypes[safetensors.F32] == 0 {
		t.Errorf("dtypes %v: want float16 where exact, bf16 and f32 kept elsewhere", dtypes)
	}
	if tt, _ := conv.Tensor("model.visual.blocks.1.norm2.weight"); tt.DType != safetensors.BF16 {
		t.Errorf("out-of-range tensor stored as %s", tt.DType)
	}
}

func TestConvertCancelledLeavesNothing(t *testing.T) {
	ckDir := tinyCheckpoint(t)
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen int64
	err := Convert(ctx, ckDir, out, ConvertOptions{Progress: func(done, total int64) {
		if seen == 0 && done < total {
			seen = done
			cancel() // mid-way through the weights
		}
	}})
	if !errors.Is(err, context.Canceled) || seen == 0 {
		t.Fatalf("Convert = %v after cancel at %d bytes, want context.Canceled", err, seen)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("cancelled conversion left %v", entries)
	}
	if _, err := Resolve(out); !errors.Is(err, ErrNoMetadata) {
		t.Errorf("Resolve after a cancelled conversion: %v", err)
	}
}

// TestConvertCrashLeavesNothingThatLoads kills a conversion (a child process
// exits abruptly mid-write, skipping all cleanup) and checks the result.
func TestConvertCrashLeavesNothingThatLoads(t *testing.T) {
	if os.Getenv("VLMRT_CRASH_CONVERT_OUT") != "" {
		return // running as the child of this test: see crashChild
	}
	ckDir := tinyCheckpoint(t)
	out := t.TempDir()
	cmd := crashChild(t, ckDir, out)
	if err := cmd.Run(); err == nil || cmd.ProcessState.ExitCode() != crashExit {
		t.Fatalf("child: %v (exit %d), want exit %d", err, cmd.ProcessState.ExitCode(), crashExit)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), stagePrefix) {
		t.Fatalf("after the crash %s holds %v, want only the hidden staging directory", out, entries)
	}
	if _, err := Resolve(out); !errors.Is(err, ErrNoMetadata) {
		t.Errorf("Resolve after a crash: %v, want ErrNoMetadata", err)
	}
	staged := filepath.Join(out, entries[0].Name())
	for _, p := range []string{staged, filepath.Join(staged, "tiny_a_decode_int8hu_s1"), filepath.Join(staged, "tiny_a_vision")} {
		if loc, err := Resolve(p); err == nil {
			t.Errorf("the half-written %s resolves as %s", p, loc.Describe())
		}
	}
	// A new conversion into the same folder is not disturbed by the leftover.
	if err := Convert(context.Background(), ckDir, out, ConvertOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve(out); err != nil {
		t.Fatal(err)
	}
}

func TestConvertExisting(t *testing.T) {
	ckDir := filepath.Join(t.TempDir(), "m")
	writeSynthCheckpoint(t, ckDir, synthDefault, 3, nil)
	out := t.TempDir()
	if err := Convert(context.Background(), ckDir, out, ConvertOptions{}); err != nil {
		t.Fatal(err)
	}
	err := Convert(context.Background(), ckDir, out, ConvertOptions{})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "m_") {
		t.Fatalf("second Convert = %v, want ErrExists", err)
	}
	if err := Convert(context.Background(), ckDir, out, ConvertOptions{Name: "Other Name"}); err != nil {
		t.Fatal(err)
	}
	if !isDir(filepath.Join(out, "other_name_decode_int8hu_s1")) {
		t.Error("ConvertOptions.Name not used")
	}
	if _, err := Resolve(out); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("two converted models in one folder: %v, want ErrAmbiguous", err)
	}
}

func TestConvertBadCheckpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "broken")
	writeSynthCheckpoint(t, dir, synthDefault, 4, nil)
	// Config promises a third layer the weights do not have.
	editJSON(t, filepath.Join(dir, ConfigFile), func(m map[string]any) { m["text_config"].(map[string]any)["num_hidden_layers"] = 3 })
	err := Convert(context.Background(), dir, t.TempDir(), ConvertOptions{})
	if err == nil || !strings.Contains(err.Error(), "model.language_model.layers.2.self_attn.q_proj.weight") {
		t.Fatalf("Convert = %v, want the missing layer named", err)
	}
	if err := Convert(context.Background(), t.TempDir(), t.TempDir(), ConvertOptions{}); err == nil {
		t.Fatal("Convert of an empty directory succeeded")
	}
}

func TestConvertIntoCoreAIBundle(t *testing.T) {
	s := newSeedPair(t)
	ckDir := tinyCheckpoint(t)
	before := snapshotTree(t, s.root)
	var prog progressLog
	if err := ConvertInto(context.Background(), ckDir, s.pipelined, ConvertOptions{Progress: prog.record}); err != nil {
		t.Fatal(err)
	}
	after := snapshotTree(t, s.root)
	added := map[string]bool{}
	for p, data := range after {
		old, ok := before[p]
		if !ok {
			added[p] = true
			continue
		}
		if !bytes.Equal(old, data) {
			t.Errorf("ConvertInto modified %s", p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("ConvertInto removed %s", p)
		}
	}
	wantAdded := map[string]bool{
		filepath.Join("gpu-pipelined", seedDecoder, seedDecoder+".safetensors"): true,
		filepath.Join("gpu-pipelined", seedDecoder, ConfigFile):                 true,
		filepath.Join("gpu-pipelined", seedVision, seedVision+".safetensors"):   true,
		filepath.Join("gpu-pipelined", seedVision, ConfigFile):                  true,
	}
	if !reflect.DeepEqual(added, wantAdded) {
		t.Errorf("ConvertInto added %v, want %v", sortedNames(added), sortedNames(wantAdded))
	}
	for _, p := range []string{s.decoder, s.vision, s.pipelined, s.root} {
		loc, err := Resolve(p)
		if err != nil {
			t.Fatal(err)
		}
		if loc.Kind != KindCoreAI || !loc.HasPortableWeights() || loc.Decoder.Asset != s.decoderAsset() || loc.Config != filepath.Join(s.decoder, ConfigFile) {
			t.Fatalf("Resolve(%s) = %s", p, loc.Describe())
		}
	}
	loc, _ := Resolve(s.decoder)
	conv, err := loc.OpenWeights()
	if err != nil {
		t.Fatal(err)
	}
	defer conv.Close()
	checkConvertedWeights(t, ckDir, conv, true)
	prog.check(t, conv)

	// The weight files are the same bytes Convert writes.
	out := t.TempDir()
	if err := Convert(context.Background(), ckDir, out, ConvertOptions{}); err != nil {
		t.Fatal(err)
	}
	pairs := [][2]string{
		{loc.Decoder.Weights, filepath.Join(out, "tiny_a_decode_int8hu_s1", "tiny_a_decode_int8hu_s1.safetensors")},
		{loc.Vision.Weights, filepath.Join(out, "tiny_a_vision", "tiny_a_vision.safetensors")},
	}
	for _, p := range pairs {
		a, _ := os.ReadFile(p[0])
		b, _ := os.ReadFile(p[1])
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s and %s differ", p[0], p[1])
		}
	}
	// Fetched without the .aimodel directories (only Core AI reads them), the
	// pair still serves the portable engines.
	slim := filepath.Join(t.TempDir(), "slim")
	copyTree(t, s.root, slim)
	for _, a := range []string{seedDecoder + AssetSuffix, seedVision + AssetSuffix} {
		for _, d := range []string{seedDecoder, seedVision} {
			os.RemoveAll(filepath.Join(slim, "gpu-pipelined", d, a))
		}
	}
	for _, p := range []string{"", "gpu-pipelined", filepath.Join("gpu-pipelined", seedDecoder), filepath.Join("gpu-pipelined", seedVision)} {
		sl, err := Resolve(filepath.Join(slim, p))
		if err != nil {
			t.Fatalf("pair without .aimodel, Resolve(%s): %v", p, err)
		}
		if sl.Kind != KindCoreAI || !sl.HasPortableWeights() || sl.Decoder.Asset != "" || sl.Vision.Asset != "" ||
			!strings.Contains(sl.Describe(), "not present") {
			t.Errorf("pair without .aimodel: %s", sl.Describe())
		}
	}

	// Converting again replaces the weights in place.
	if err := ConvertInto(context.Background(), ckDir, s.decoder, ConvertOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := snapshotTree(t, s.root); !reflect.DeepEqual(got, after) {
		t.Error("a second ConvertInto changed the bundle")
	}
}

func TestConvertIntoRejects(t *testing.T) {
	s := newSeedPair(t)
	synth := filepath.Join(t.TempDir(), "synth")
	writeSynthCheckpoint(t, synth, synthDefault, 5, nil)
	before := snapshotTree(t, s.root)
	err := ConvertInto(context.Background(), synth, s.decoder, ConvertOptions{})
	if !errors.Is(err, ErrInvalidField) || !strings.Contains(err.Error(), "151936") || !strings.Contains(err.Error(), "300") {
		t.Fatalf("ConvertInto of another model = %v, want the vocab_size mismatch", err)
	}
	if !reflect.DeepEqual(snapshotTree(t, s.root), before) {
		t.Error("a rejected ConvertInto changed the bundle")
	}
	out := t.TempDir()
	if err := Convert(context.Background(), synth, out, ConvertOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ConvertInto(context.Background(), synth, out, ConvertOptions{}); err == nil || !strings.Contains(err.Error(), "needs a Core AI bundle") {
		t.Fatalf("ConvertInto a portable bundle = %v", err)
	}
	if err := ConvertInto(context.Background(), synth, filepath.Join(s.root, "nope"), ConvertOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ConvertInto a missing path = %v", err)
	}
}

func TestConvertIntoCancelledKeepsBundle(t *testing.T) {
	s := newSeedPair(t)
	ckDir := tinyCheckpoint(t)
	before := snapshotTree(t, s.root)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := ConvertInto(ctx, ckDir, s.decoder, ConvertOptions{Progress: func(done, total int64) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ConvertInto = %v, want context.Canceled", err)
	}
	if !reflect.DeepEqual(snapshotTree(t, s.root), before) {
		t.Error("a cancelled ConvertInto changed the bundle")
	}
	if loc, err := Resolve(s.decoder); err != nil || loc.HasPortableWeights() {
		t.Errorf("after a cancelled ConvertInto: %v", err)
	}
}

func TestBundleNames(t *testing.T) {
	for _, tc := range []struct{ dir, name, dec, vis string }{
		{"testdata/tiny-a", "", "tiny_a_decode_int8hu_s1", "tiny_a_vision"},
		{"/x/hub/models--Qwen--Qwen3-VL-4B-Instruct/snapshots/0123abcd", "", "qwen3_vl_4b_instruct_decode_int8hu_s1", "qwen3_vl_4b_instruct_vision"},
		{"/x/Qwen3-VL-8B-Instruct/", "", "qwen3_vl_8b_instruct_decode_int8hu_s1", "qwen3_vl_8b_instruct_vision"},
		{"/x/whatever", "My Model", "my_model_decode_int8hu_s1", "my_model_vision"},
	} {
		dec, vis, err := BundleNames(tc.dir, ConvertOptions{Name: tc.name})
		if err != nil || dec != tc.dec || vis != tc.vis {
			t.Errorf("BundleNames(%q, %q) = %q, %q, %v; want %q, %q", tc.dir, tc.name, dec, vis, err, tc.dec, tc.vis)
		}
	}
	if _, _, err := BundleNames("/x/y", ConvertOptions{Name: "--"}); err == nil {
		t.Error("an empty derived name was accepted")
	}
	if _, repo := checkpointName("/x/hub/models--Qwen--Qwen3-VL-4B-Instruct/snapshots/0123abcd"); repo != "Qwen/Qwen3-VL-4B-Instruct" {
		t.Errorf("repository id %q", repo)
	}
}

// snapshotTree reads every file under root (relative path → content).
func snapshotTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		files[rel] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
