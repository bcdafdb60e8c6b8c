package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// qwenSplitPattern is the only Split regex this package implements (by hand,
// in pretokenize.go): Go's regexp has no lookahead, so other patterns cannot
// simply be compiled and are rejected at Load rather than tokenized wrongly.
const qwenSplitPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// Load reads a Hugging Face tokenizer from dir. dir may hold tokenizer.json
// (or tokenizer.json.gz) directly, or in its tokenizer/ subdirectory (the
// bundle layout); dir may also name the tokenizer.json file itself.
// tokenizer_config.json, generation_config.json and the chat template files
// are read from the same directory when present.
func Load(dir string) (*Tokenizer, error) {
	path, raw, err := readTokenizerJSON(dir)
	if err != nil {
		return nil, err
	}
	var tf tokenizerFile
	if err := json.Unmarshal(raw, &tf); err != nil {
		return nil, fmt.Errorf("tokenizer: parse %s: %w", path, err)
	}
	t, err := build(&tf)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	if err := t.loadConfig(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return t, nil
}

// readTokenizerJSON finds tokenizer.json (or .gz) for dir and reads it.
func readTokenizerJSON(dir string) (path string, raw []byte, err error) {
	if path, err = findTokenizerFile(dir); err != nil {
		return "", nil, err
	}
	if raw, err = readMaybeGzip(path); err != nil {
		return "", nil, fmt.Errorf("tokenizer: %w", err)
	}
	return path, raw, nil
}

func findTokenizerFile(dir string) (string, error) {
	if st, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("tokenizer: %w", err)
	} else if !st.IsDir() {
		return dir, nil
	}
	for _, p := range []string{
		filepath.Join(dir, "tokenizer.json"),
		filepath.Join(dir, "tokenizer.json.gz"),
		filepath.Join(dir, "tokenizer", "tokenizer.json"),
		filepath.Join(dir, "tokenizer", "tokenizer.json.gz"),
	} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("tokenizer: no tokenizer.json (or tokenizer.json.gz) in %s or %s", dir, filepath.Join(dir, "tokenizer"))
}

// readMaybeGzip reads a file, transparently inflating gzip content (detected by
// its magic bytes, so a renamed file works too).
func readMaybeGzip(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		return raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

type tokenizerFile struct {
	AddedTokens  []addedTokenSpec `json:"added_tokens"`
	Normalizer   json.RawMessage  `json:"normalizer"`
	PreTokenizer json.RawMessage  `json:"pre_tokenizer"`
	Decoder      json.RawMessage  `json:"decoder"`
	Model        struct {
		Type                    string           `json:"type"`
		Vocab                   map[string]int32 `json:"vocab"`
		Merges                  json.RawMessage  `json:"merges"`
		ByteFallback            bool             `json:"byte_fallback"`
		ContinuingSubwordPrefix string           `json:"continuing_subword_prefix"`
		EndOfWordSuffix         string           `json:"end_of_word_suffix"`
		Dropout                 *float64         `json:"dropout"`
		IgnoreMerges            bool             `json:"ignore_merges"`
	} `json:"model"`
}

type addedTokenSpec struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	Special    bool   `json:"special"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	SingleWord bool   `json:"single_word"`
	Normalized bool   `json:"normalized"`
}

type component struct {
	Type           string            `json:"type"`
	Pattern        map[string]string `json:"pattern"`
	Behavior       string            `json:"behavior"`
	Invert         bool              `json:"invert"`
	UseRegex       bool              `json:"use_regex"`
	AddPrefixSpace bool              `json:"add_prefix_space"`
	Normalizers    []component       `json:"normalizers"`
	PreTokenizers  []component       `json:"pretokenizers"`
}

// checkPipeline verifies that the file asks for exactly the pipeline this
// package implements (Qwen2/Qwen3: NFC, Qwen split regex, byte-level), so an
// unsupported tokenizer fails loudly instead of producing wrong ids.
func checkPipeline(tf *tokenizerFile) error {
	var norm component
	if len(tf.Normalizer) > 0 && string(tf.Normalizer) != "null" {
		if err := json.Unmarshal(tf.Normalizer, &norm); err != nil {
			return fmt.Errorf("normalizer: %w", err)
		}
		if norm.Type == "Sequence" && len(norm.Normalizers) == 1 {
			norm = norm.Normalizers[0]
		}
		if norm.Type != "NFC" {
			return fmt.Errorf("unsupported normalizer %q (only NFC is implemented)", norm.Type)
		}
	}
	var pre component
	if err := json.Unmarshal(tf.PreTokenizer, &pre); err != nil {
		return fmt.Errorf("pre_tokenizer: %w", err)
	}
	if pre.Type != "Sequence" || len(pre.PreTokenizers) != 2 {
		return fmt.Errorf("unsupported pre_tokenizer %q (want Sequence[Split, ByteLevel])", pre.Type)
	}
	split, bl := pre.PreTokenizers[0], pre.PreTokenizers[1]
	if split.Type != "Split" || split.Pattern["Regex"] != qwenSplitPattern || split.Behavior != "Isolated" || split.Invert {
		return fmt.Errorf("unsupported Split pre-tokenizer (type %q, behavior %q, pattern %q): only the Qwen2/Qwen3 pattern is implemented", split.Type, split.Behavior, split.Pattern["Regex"])
	}
	if bl.Type != "ByteLevel" || bl.UseRegex || bl.AddPrefixSpace {
		return fmt.Errorf("unsupported second pre-tokenizer %q (want ByteLevel without regex or prefix space)", bl.Type)
	}
	var dec component
	if err := json.Unmarshal(tf.Decoder, &dec); err != nil {
		return fmt.Errorf("decoder: %w", err)
	}
	if dec.Type != "ByteLevel" {
		return fmt.Errorf("unsupported decoder %q (want ByteLevel)", dec.Type)
	}
	m := &tf.Model
	switch {
	case m.Type != "BPE":
		return fmt.Errorf("unsupported model type %q (want BPE)", m.Type)
	case m.ByteFallback:
		return errors.New("BPE byte_fallback is not supported")
	case m.ContinuingSubwordPrefix != "" || m.EndOfWordSuffix != "":
		return errors.New("BPE continuing_subword_prefix/end_of_word_suffix are not supported")
	case m.Dropout != nil && *m.Dropout != 0:
		return errors.New("BPE dropout is not supported")
	case m.IgnoreMerges:
		return errors.New("BPE ignore_merges is not supported")
	}
	return nil
}

// parseMerges accepts both merge formats of tokenizer.json: "a b" strings and
// ["a", "b"] pairs.
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err == nil {
		return pairs, nil
	}
	var strs []string
	if err := json.Unmarshal(raw, &strs); err != nil {
		return nil, fmt.Errorf("model.merges: want [\"a b\", ...] or [[\"a\",\"b\"], ...]: %w", err)
	}
	pairs = make([][2]string, len(strs))
	for i, s := range strs {
		j := indexSpace(s)
		if j < 0 {
			return nil, fmt.Errorf("model.merges[%d] %q has no space", i, s)
		}
		pairs[i] = [2]string{s[:j], s[j+1:]}
	}
	return pairs, nil
}

func indexSpace(s string) int {
	for i := 1; i < len(s); i++ { // from 1: a merge side is never empty
		if s[i] == ' ' {
			return i
		}
	}
	return -1
}

func build(tf *tokenizerFile) (*Tokenizer, error) {
	if err := checkPipeline(tf); err != nil {
		return nil, err
	}
	if len(tf.Model.Vocab) == 0 {
		return nil, errors.New("model.vocab is empty")
	}
	size := 0
	for tok, id := range tf.Model.Vocab {
		if id < 0 {
			return nil, fmt.Errorf("model.vocab[%q] has negative id %d", tok, id)
		}
		size = max(size, int(id)+1)
	}
	for _, a := range tf.AddedTokens {
		if a.ID < 0 {
			return nil, fmt.Errorf("added token %q has negative id %d", a.Content, a.ID)
		}
		size = max(size, int(a.ID)+1)
	}
	if size > 1<<24 {
		return nil, fmt.Errorf("vocabulary ids reach %d, more than this tokenizer supports", size)
	}
	t := &Tokenizer{
		vocab:   make(map[string]int32, len(tf.Model.Vocab)+len(tf.AddedTokens)),
		pieces:  make([]string, size),
		kind:    make([]tokenKind, size),
		byteOff: make([]uint32, size+1),
	}
	for tok, id := range tf.Model.Vocab {
		t.vocab[tok] = id
		t.pieces[id] = tok
		t.kind[id] = kindModel
	}
	// Raw bytes of every token, for decoding without per-call work.
	var blob []byte
	for id := range t.pieces {
		t.byteOff[id] = uint32(len(blob))
		if t.kind[id] == kindModel {
			b, ok := byteLevelDecode(t.pieces[id])
			if !ok {
				return nil, fmt.Errorf("model.vocab entry %q (id %d) is not in the byte-level alphabet", t.pieces[id], id)
			}
			blob = append(blob, b...)
		}
	}
	t.byteOff[size] = uint32(len(blob))
	for i := range t.byteIDs {
		id, ok := t.vocab[string(byteToRune[i])]
		if !ok {
			return nil, fmt.Errorf("model.vocab lacks the byte-level token for byte 0x%02x", i)
		}
		t.byteIDs[i] = id
	}
	pairs, err := parseMerges(tf.Model.Merges)
	if err != nil {
		return nil, err
	}
	t.merges = make(map[uint64]uint64, len(pairs))
	for rank, p := range pairs {
		a, okA := t.vocab[p[0]]
		b, okB := t.vocab[p[1]]
		m, okM := t.vocab[p[0]+p[1]]
		if !okA || !okB || !okM {
			return nil, fmt.Errorf("model.merges[%d] (%q %q) refers to a token missing from the vocab", rank, p[0], p[1])
		}
		key := uint64(uint32(a))<<32 | uint64(uint32(b))
		if _, dup := t.merges[key]; !dup { // the first (lowest) rank wins, as in HF
			t.merges[key] = uint64(rank)<<32 | uint64(uint32(m))
		}
	}
	// Added tokens: their decoded bytes are their literal content.
	addedBytes := map[int32][]byte{}
	for _, a := range tf.AddedTokens {
		if a.Content == "" {
			return nil, fmt.Errorf("added token id %d has empty content", a.ID)
		}
		if a.LStrip || a.RStrip || a.SingleWord {
			return nil, fmt.Errorf("added token %q uses lstrip/rstrip/single_word, which are not supported", a.Content)
		}
		if prev := t.kind[a.ID]; prev == kindModel && t.pieces[a.ID] != a.Content {
			return nil, fmt.Errorf("added token %q reuses id %d of vocab entry %q", a.Content, a.ID, t.pieces[a.ID])
		}
		t.vocab[a.Content] = a.ID
		t.pieces[a.ID] = a.Content
		t.kind[a.ID] = kindAdded
		if a.Special {
			t.kind[a.ID] = kindSpecial
		}
		addedBytes[a.ID] = []byte(a.Content)
		t.added = append(t.added, addedToken{content: a.Content, id: a.ID})
	}
	if len(addedBytes) > 0 { // rebuild the blob with added-token content in place
		blob2 := make([]byte, 0, len(blob)+256)
		for id := range t.pieces {
			var b []byte
			if ab, ok := addedBytes[int32(id)]; ok {
				b = ab
			} else {
				b = blob[t.byteOff[id]:t.byteOff[id+1]]
			}
			t.byteOff[id] = uint32(len(blob2))
			blob2 = append(blob2, b...)
		}
		t.byteOff[size] = uint32(len(blob2))
		blob = blob2
	}
	t.blob = blob
	sort.Slice(t.added, func(i, j int) bool { return len(t.added[i].content) > len(t.added[j].content) })
	t.buildAddedIndex()
	t.cache = newWordCache()
	return t, nil
}

// readOptionalJSON reads path into v; a missing file is not an error.
func readOptionalJSON(path string, v any) (bool, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("parse %s: %w", path, err)
	}
	return true, nil
}
