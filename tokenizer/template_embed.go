package tokenizer

import _ "embed"

// defaultChatTemplate is the official Qwen3-VL Instruct chat template, used
// when the tokenizer directory carries none.
//
//go:embed qwen3_vl_instruct.jinja
var defaultChatTemplate string
