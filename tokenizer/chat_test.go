package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type chatRecord struct {
	Name                string                     `json:"name"`
	Messages            []Message                  `json:"messages"`
	AddGenerationPrompt bool                       `json:"add_generation_prompt"`
	TemplateKwargs      map[string]json.RawMessage `json:"template_kwargs"`
	Rendered            string                     `json:"rendered"`
	IDs                 []int32                    `json:"ids"`
	NumImages           int                        `json:"num_images"`
	PadsPerImage        int                        `json:"image_pad_tokens_per_image"`
	IDsExpanded         []int32                    `json:"ids_expanded"`
}

func readChats(tb testing.TB) []chatRecord {
	tb.Helper()
	f, err := os.Open(filepath.Join(testDir, "chat_dev.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []chatRecord
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if strings.TrimSpace(line) != "" {
			var c chatRecord
			if err := json.Unmarshal([]byte(line), &c); err != nil {
				tb.Fatalf("chat_dev.jsonl: %v", err)
			}
			out = append(out, c)
		}
		if err != nil {
			break
		}
	}
	if len(out) != 17 {
		tb.Fatalf("read %d chat records, want 17", len(out))
	}
	return out
}

// chatOptions maps a record's template kwargs to ChatOptions.
func chatOptions(tb testing.TB, c chatRecord) ChatOptions {
	opts := ChatOptions{AddGenerationPrompt: c.AddGenerationPrompt}
	for k, v := range c.TemplateKwargs {
		switch k {
		case "add_vision_id":
			if err := json.Unmarshal(v, &opts.AddVisionID); err != nil {
				tb.Fatal(err)
			}
		case "tools":
			if err := json.Unmarshal(v, &opts.Tools); err != nil {
				tb.Fatal(err)
			}
		default:
			tb.Fatalf("%s: unexpected template kwarg %q", c.Name, k)
		}
	}
	return opts
}

func TestRenderChatDev(t *testing.T) {
	tok := testTokenizer(t)
	if _, origin := tok.ChatTemplate(); !strings.HasSuffix(origin, "chat_template.jinja") {
		t.Fatalf("template came from %s, want chat_template.jinja", origin)
	}
	for _, c := range readChats(t) {
		opts := chatOptions(t, c)
		got, err := tok.RenderChat(c.Messages, opts)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if got != c.Rendered {
			t.Errorf("%s:\n got %q\nwant %q", c.Name, got, c.Rendered)
		}
		if ids := tok.Encode(c.Rendered); !slices.Equal(ids, c.IDs) {
			t.Errorf("%s ids:\n got %v\nwant %v", c.Name, ids, c.IDs)
		}
	}
}
