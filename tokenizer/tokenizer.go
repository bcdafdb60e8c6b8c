// Package tokenizer implements the Qwen3 / Qwen3-VL byte-level BPE tokenizer
// from a Hugging Face tokenizer.json in pure Go, the chat template, and the
// prompt assembly (image pads, rope shift, extension ids) the engine needs.
//
// Encoding follows the Hugging Face tokenizers core exactly: added tokens are
// split out of the raw text first, each remaining segment is NFC-normalized,
// split by the Qwen pre-tokenizer regex (hand-written scanner), byte-mapped
// and BPE-merged by rank.
package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

type tokenKind uint8

const (
	kindNone    tokenKind = iota // id unused by the files
	kindModel                    // a model.vocab entry
	kindAdded                    // an added token with special=false (kept by skipSpecial decode)
	kindSpecial                  // an added token with special=true
)

// Tokenizer is immutable after Load apart from its internal word cache, which
// is synchronized, so it is safe for concurrent use.
type Tokenizer struct {
	vocab   map[string]int32 // vocab string (byte-level form) or added-token content → id
	pieces  []string         // id → vocab string
	kind    []tokenKind      // id → kind
	blob    []byte           // raw decoded bytes of every token, concatenated
	byteOff []uint32         // token id's bytes are blob[byteOff[id]:byteOff[id+1]]
	byteIDs [256]int32       // raw byte → id of its single byte-level token
	merges  map[uint64]uint64

	added      []addedToken // longest first
	addedFirst [256]bool    // bytes that can start an added token
	cache      *wordCache

	eos          []int32
	eosToken     string // tokenizer_config.json eos_token, for templates that print it
	tmpl         compiled
	chatTemplate string // Jinja source
	templateFrom string // where chatTemplate came from, for error messages
}

// TokenID returns the id of a vocab string or added token, e.g. "<|image_pad|>".
func (t *Tokenizer) TokenID(token string) (int32, bool) {
	id, ok := t.vocab[token]
	return id, ok
}

// Piece returns the vocab string of id (byte-level form for model tokens, the
// literal content for added tokens), or "" for an unknown id.
func (t *Tokenizer) Piece(id int32) string {
	if id < 0 || int(id) >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}

// IsSpecial reports whether id is an added token marked special (the ones a
// skipSpecial decode drops).
func (t *Tokenizer) IsSpecial(id int32) bool {
	return id >= 0 && int(id) < len(t.kind) && t.kind[id] == kindSpecial
}

// VocabSize is one more than the largest id the tokenizer files define
// (model vocab plus added tokens). The model's embedding table may be larger.
func (t *Tokenizer) VocabSize() int { return len(t.pieces) }

// EOSIDs returns the ids that end generation: the eos_token of
// tokenizer_config.json, the eos_token_id list of generation_config.json, and
// <|endoftext|> when the vocabulary has it (docs/design.md §2.9 stops on it even
// when a config omits it). Order is stable, duplicates removed.
func (t *Tokenizer) EOSIDs() []int32 { return append([]int32(nil), t.eos...) }

// ChatTemplate returns the Jinja chat template in use and where it came from.
func (t *Tokenizer) ChatTemplate() (source, origin string) { return t.chatTemplate, t.templateFrom }

type tokenizerConfig struct {
	EOSToken     json.RawMessage `json:"eos_token"`
	ChatTemplate json.RawMessage `json:"chat_template"`
}

// tokenString reads a token given either as "text" or {"content": "text"}.
func tokenString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", fmt.Errorf("want a string or {\"content\": ...}: %w", err)
	}
	return obj.Content, nil
}

// templateString reads chat_template given as a string or as HF's list of
// {"name", "template"} (the "default" entry is used).
func templateString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var list []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return "", fmt.Errorf("chat_template: want a string or a list of {name, template}: %w", err)
	}
	for _, e := range list {
		if e.Name == "default" {
			return e.Template, nil
		}
	}
	return "", fmt.Errorf("chat_template list has no \"default\" entry")
}

// loadConfig reads the optional files next to tokenizer.json. The chat
// template is taken, in order, from chat_template.jinja, chat_template.json,
// tokenizer_config.json, else the embedded Qwen3-VL Instruct template. The
// dedicated files win because newer checkpoints keep the real template there
// while tokenizer_config.json may carry an older (text-only) one.
func (t *Tokenizer) loadConfig(dir string) error {
	var cfg tokenizerConfig
	cfgPath := filepath.Join(dir, "tokenizer_config.json")
	if _, err := readOptionalJSON(cfgPath, &cfg); err != nil {
		return err
	}
	addEOS := func(id int32) {
		for _, e := range t.eos {
			if e == id {
				return
			}
		}
		t.eos = append(t.eos, id)
	}
	eosTok, err := tokenString(cfg.EOSToken)
	if err != nil {
		return fmt.Errorf("%s: eos_token: %w", cfgPath, err)
	}
	t.eosToken = eosTok
	if eosTok != "" {
		id, ok := t.vocab[eosTok]
		if !ok {
			return fmt.Errorf("%s: eos_token %q is not in the vocabulary", cfgPath, eosTok)
		}
		addEOS(id)
	}
	// generation_config.json sits next to the tokenizer in a checkpoint and one
	// level up in a bundle (dir/tokenizer/).
	for _, gdir := range []string{dir, filepath.Dir(dir)} {
		var gen struct {
			EOS json.RawMessage `json:"eos_token_id"`
		}
		gpath := filepath.Join(gdir, "generation_config.json")
		found, err := readOptionalJSON(gpath, &gen)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		ids, err := intOrList(gen.EOS)
		if err != nil {
			return fmt.Errorf("%s: eos_token_id: %w", gpath, err)
		}
		for _, id := range ids {
			if id < 0 || int(id) >= len(t.pieces) {
				return fmt.Errorf("%s: eos_token_id %d is outside the vocabulary (size %d)", gpath, id, len(t.pieces))
			}
			addEOS(id)
		}
		break
	}
	if id, ok := t.vocab["<|endoftext|>"]; ok {
		addEOS(id)
	}

	if b, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja")); err == nil {
		t.chatTemplate, t.templateFrom = string(b), filepath.Join(dir, "chat_template.jinja")
		return nil
	}
	var ct struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
	}
	ctPath := filepath.Join(dir, "chat_template.json")
	if found, err := readOptionalJSON(ctPath, &ct); err != nil {
		return err
	} else if found {
		s, err := templateString(ct.ChatTemplate)
		if err != nil {
			return fmt.Errorf("%s: %w", ctPath, err)
		}
		if s != "" {
			t.chatTemplate, t.templateFrom = s, ctPath
			return nil
		}
	}
	s, err := templateString(cfg.ChatTemplate)
	if err != nil {
		return fmt.Errorf("%s: %w", cfgPath, err)
	}
	if s != "" {
		t.chatTemplate, t.templateFrom = s, cfgPath
		return nil
	}
	t.chatTemplate, t.templateFrom = defaultChatTemplate, "built-in Qwen3-VL Instruct template"
	return nil
}

func intOrList(raw json.RawMessage) ([]int32, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one int32
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int32{one}, nil
	}
	var many []int32
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("want an integer or a list of integers: %w", err)
	}
	return many, nil
}
