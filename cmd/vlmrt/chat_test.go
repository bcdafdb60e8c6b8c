package main

import (
	"strings"
	"testing"
)

// TestChatPiped drives `vlmrt chat` through piped stdin: a text turn, an
// image turn, /stats, a multi-line message, /clear (after which the same
// first message gets the same greedy answer), an unknown command and /quit.
func TestChatPiped(t *testing.T) {
	script := strings.Join([]string{
		"Hello",
		"/image " + tinyA + "/golden/image1.png",
		"What is this?",
		"/stats",
		`"""`, "line one", "line two", `"""`,
		"/clear",
		"Hello",
		"/image /nonexistent.png",
		"/bogus",
		"/quit",
		"never read",
	}, "\n") + "\n"
	out, errOut, code := runCLI(t, script, "chat", "--model", tinyA, "--max-tokens", "6")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(out, "\n")
	// answers are the lines that are not command acknowledgements
	var answers []string
	var stats string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "["):
		case strings.HasPrefix(l, "vision "):
			stats = l
		case l != "":
			answers = append(answers, l)
		}
	}
	if len(answers) != 4 {
		t.Fatalf("want 4 answers, got %d in %q", len(answers), out)
	}
	if answers[0] != answers[3] {
		t.Fatalf("after /clear the same message should get the same greedy answer: %q vs %q", answers[0], answers[3])
	}
	// the image turn prefilled the 196 image tokens plus its text and the
	// closing of the previous reply, on top of the first turn
	if !strings.Contains(stats, "prefill 21") || !strings.Contains(stats, "decode 6 tok") {
		t.Fatalf("stats after the image turn: %q", stats)
	}
	if !strings.Contains(out, "[image "+tinyA+"/golden/image1.png attached") || !strings.Contains(out, "[new conversation]") {
		t.Fatalf("missing acknowledgements in %q", out)
	}
	if !strings.Contains(errOut, "unknown command /bogus") || !strings.Contains(errOut, "nonexistent.png") {
		t.Fatalf("stderr %q", errOut)
	}
}

func TestInspect(t *testing.T) {
	out, errOut, code := runCLI(t, "", "inspect", tinyA)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"5 layers, hidden 64", "DeepStack after blocks [1 2 3]", "196 tokens", "problems:      none", "tokenizer:     found"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	if _, errOut, code := runCLI(t, "", "inspect"); code != 2 || !strings.Contains(errOut, "PATH") {
		t.Errorf("no path: exit %d %q", code, errOut)
	}
	// snake_case like every JSON the CLI prints; flags may follow the path
	for _, args := range [][]string{{"inspect", "--json", tinyA}, {"inspect", tinyA, "--json"}} {
		out, _, code = runCLI(t, "", args...)
		if code != 0 || !strings.Contains(out, `"decode_bytes_per_token"`) || strings.Contains(out, `"DecodeBytesPerToken"`) {
			t.Errorf("%v: %d %s", args, code, out)
		}
	}
}

func TestHelpForEveryCommand(t *testing.T) {
	for name := range commands {
		_, errOut, code := runCLI(t, "", name, "--help")
		if code != 0 || !strings.Contains(errOut, "Usage: vlmrt "+name) {
			t.Errorf("%s --help: exit %d, %q", name, code, errOut)
		}
	}
	out, _, code := runCLI(t, "", "--help")
	if code != 0 || !strings.Contains(out, "run") || !strings.Contains(out, "chat") {
		t.Errorf("top-level help: %d %q", code, out)
	}
}
