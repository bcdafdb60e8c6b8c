package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad writes arbitrary bytes as tokenizer.json and loads it: an error
// naming the file or a tokenizer, never a panic.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}}`))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0},"merges":[["a","a"]]},"added_tokens":[{"id":5,"content":"<x>","special":true}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "tokenizer.json"), data, 0o644)
		tok, err := Load(dir)
		if err != nil {
			return
		}
		for _, id := range tok.Encode("ab a <x> b") {
			if id < 0 || int(id) >= tok.VocabSize() {
				t.Fatalf("id %d outside the vocabulary of %d", id, tok.VocabSize())
			}
		}
	})
}

// FuzzRenderChat renders arbitrary messages (a JSON list, as a server or a
// chat file would give them) with the real Qwen3-VL template: an error or
// text, never a panic.
func FuzzRenderChat(f *testing.F) {
	tok := testTokenizer(f)
	f.Add([]byte(`[{"role":"user","content":[{"type":"image"},{"type":"text","text":"What is this?"}]}]`))
	f.Add([]byte(`[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"assistant","content":"<think>x</think>Hello"},{"role":"tool","content":"42"}]`))
	f.Add([]byte(`[{"role":"assistant","content":null,"tool_calls":[{"function":{"name":"f","arguments":{"a":1}}}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var msgs []Message
		if json.Unmarshal(data, &msgs) != nil {
			return
		}
		for _, gen := range []bool{false, true} {
			tok.RenderChat(msgs, ChatOptions{AddGenerationPrompt: gen})
		}
	})
}
