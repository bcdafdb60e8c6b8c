package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/vlmrt/vlmrt/tokenizer/jinja"
)

// Message is one chat turn. Content is a list of parts; set StringContent to
// present it to the template as a plain string (the concatenated text parts),
// which is how `"content": "..."` arrives in the OpenAI/HF message format.
// Templates can tell the two apart (`content is string`).
type Message struct {
	Role          string
	Content       []Part
	StringContent bool
	ToolCalls     []ToolCall
	Name          string // optional, e.g. of a tool
	ToolCallID    string // optional, on role "tool"
	ReasoningText string // optional reasoning_content (Qwen3 text templates read it)
}

// Part is one content item: Type "text" with Text, or "image" (Image may
// hold the image's URL or path, which the template does not print; the
// engine matches images to parts by order). "video" is passed through.
type Part struct {
	Type  string
	Text  string
	Image string
}

// ToolCall is an assistant's function call. Arguments is JSON: an object
// (rendered by the template with tojson) or a JSON string (printed verbatim).
type ToolCall struct {
	Type      string // "function"
	Name      string
	Arguments json.RawMessage
	ID        string
}

// ChatOptions are the template variables besides messages.
type ChatOptions struct {
	AddGenerationPrompt bool
	AddVisionID         bool              // "Picture N: " before each image
	Tools               []json.RawMessage // each a tool schema, rendered with tojson in its key order
	// Extra holds further template variables as JSON (e.g. "enable_thinking": false).
	Extra map[string]json.RawMessage
}

// TextMessage returns a message whose content is the string text.
func TextMessage(role, text string) Message {
	return Message{Role: role, Content: []Part{{Type: "text", Text: text}}, StringContent: true}
}

// UnmarshalJSON reads the Hugging Face / OpenAI message format: content as a
// string or a list of {"type": ...} items ("image_url" items count as
// images), tool_calls as [{"type", "function": {"name", "arguments"}}].
func (m *Message) UnmarshalJSON(data []byte) error {
	var raw struct {
		Role             string          `json:"role"`
		Content          json.RawMessage `json:"content"`
		Name             string          `json:"name"`
		ToolCallID       string          `json:"tool_call_id"`
		ReasoningContent string          `json:"reasoning_content"`
		ToolCalls        []struct {
			ID       string `json:"id"`
			Type     string `json:"type"`
			Function struct {
				Name      string          `json:"name"`
				Arguments json.RawMessage `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*m = Message{Role: raw.Role, Name: raw.Name, ToolCallID: raw.ToolCallID, ReasoningText: raw.ReasoningContent}
	var s string
	switch {
	case len(raw.Content) == 0 || string(raw.Content) == "null":
		m.StringContent = true
	case json.Unmarshal(raw.Content, &s) == nil:
		m.StringContent = true
		m.Content = []Part{{Type: "text", Text: s}}
	default:
		var items []map[string]json.RawMessage
		if err := json.Unmarshal(raw.Content, &items); err != nil {
			return fmt.Errorf("message content: want a string or a list of parts: %w", err)
		}
		for i, it := range items {
			var p Part
			_ = json.Unmarshal(it["type"], &p.Type)
			if t, ok := it["text"]; ok {
				if err := json.Unmarshal(t, &p.Text); err != nil {
					return fmt.Errorf("message content[%d].text: %w", i, err)
				}
				if p.Type == "" {
					p.Type = "text"
				}
			}
			for _, key := range []string{"image", "image_url"} {
				if v, ok := it[key]; ok {
					p.Type = "image"
					var url string
					if json.Unmarshal(v, &url) != nil {
						var obj struct {
							URL string `json:"url"`
						}
						_ = json.Unmarshal(v, &obj)
						url = obj.URL
					}
					p.Image = url
				}
			}
			if p.Type == "" {
				return fmt.Errorf("message content[%d] has no type", i)
			}
			m.Content = append(m.Content, p)
		}
	}
	for _, tc := range raw.ToolCalls {
		m.ToolCalls = append(m.ToolCalls, ToolCall{Type: tc.Type, Name: tc.Function.Name, Arguments: tc.Function.Arguments, ID: tc.ID})
	}
	return nil
}

// templateValue converts a message to the dict the template sees.
func (m *Message) templateValue() (jinja.Value, error) {
	d := jinja.NewDict()
	d.Set("role", m.Role)
	if m.StringContent {
		text := ""
		for _, p := range m.Content {
			if p.Type != "text" {
				return nil, fmt.Errorf("%s message with string content has a %q part", m.Role, p.Type)
			}
			text += p.Text
		}
		d.Set("content", text)
	} else {
		parts := make([]jinja.Value, 0, len(m.Content))
		for _, p := range m.Content {
			pd := jinja.NewDict()
			pd.Set("type", p.Type)
			switch p.Type {
			case "text":
				pd.Set("text", p.Text)
			case "image", "video":
				if p.Image != "" {
					pd.Set(p.Type, p.Image)
				}
			default:
				return nil, fmt.Errorf("%s message has a content part of unknown type %q", m.Role, p.Type)
			}
			parts = append(parts, pd)
		}
		d.Set("content", parts)
	}
	if m.Name != "" {
		d.Set("name", m.Name)
	}
	if m.ToolCallID != "" {
		d.Set("tool_call_id", m.ToolCallID)
	}
	if m.ReasoningText != "" {
		d.Set("reasoning_content", m.ReasoningText)
	}
	if len(m.ToolCalls) > 0 {
		calls := make([]jinja.Value, 0, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			fn := jinja.NewDict()
			fn.Set("name", tc.Name)
			args := jinja.Value(jinja.NewDict())
			if len(tc.Arguments) > 0 {
				v, err := jinja.FromJSON(tc.Arguments)
				if err != nil {
					return nil, fmt.Errorf("tool_calls[%d].arguments: %w", i, err)
				}
				args = v
			}
			fn.Set("arguments", args)
			c := jinja.NewDict()
			if tc.ID != "" {
				c.Set("id", tc.ID)
			}
			typ := tc.Type
			if typ == "" {
				typ = "function"
			}
			c.Set("type", typ)
			c.Set("function", fn)
			calls = append(calls, c)
		}
		d.Set("tool_calls", calls)
	}
	return d, nil
}

// compiled caches the parsed chat template of a Tokenizer.
type compiled struct {
	once sync.Once
	tmpl *jinja.Template
	err  error
}

func (t *Tokenizer) template() (*jinja.Template, error) {
	cc := &t.tmpl
	cc.once.Do(func() {
		cc.tmpl, cc.err = jinja.Parse(t.chatTemplate)
		if cc.err != nil {
			cc.err = fmt.Errorf("tokenizer: chat template from %s: %w", t.templateFrom, cc.err)
		}
	})
	return cc.tmpl, cc.err
}

// RenderChat renders msgs with the tokenizer's chat template, as
// transformers' apply_chat_template(tokenize=False) does.
func (t *Tokenizer) RenderChat(msgs []Message, opts ChatOptions) (string, error) {
	if len(msgs) == 0 {
		return "", errors.New("tokenizer: RenderChat: no messages")
	}
	tmpl, err := t.template()
	if err != nil {
		return "", err
	}
	list := make([]jinja.Value, len(msgs))
	for i := range msgs {
		v, err := msgs[i].templateValue()
		if err != nil {
			return "", fmt.Errorf("tokenizer: messages[%d]: %w", i, err)
		}
		list[i] = v
	}
	vars := map[string]jinja.Value{
		"messages":              list,
		"add_generation_prompt": opts.AddGenerationPrompt,
		"add_vision_id":         opts.AddVisionID,
	}
	for k, raw := range opts.Extra {
		v, err := jinja.FromJSON(raw)
		if err != nil {
			return "", fmt.Errorf("tokenizer: chat option %q: %w", k, err)
		}
		vars[k] = v
	}
	if len(opts.Tools) > 0 {
		tools := make([]jinja.Value, len(opts.Tools))
		for i, raw := range opts.Tools {
			v, err := jinja.FromJSON(raw)
			if err != nil {
				return "", fmt.Errorf("tokenizer: tools[%d]: %w", i, err)
			}
			tools[i] = v
		}
		vars["tools"] = tools
	}
	// Special token strings some templates print ({{ bos_token }} etc.).
	for name, tok := range map[string]string{"eos_token": t.eosToken, "bos_token": ""} {
		if _, set := vars[name]; !set {
			vars[name] = tok
		}
	}
	out, err := tmpl.Render(vars)
	if err != nil {
		return "", fmt.Errorf("tokenizer: chat template from %s: %w", t.templateFrom, err)
	}
	return out, nil
}
