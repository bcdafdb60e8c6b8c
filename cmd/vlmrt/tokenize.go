package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vlmrt/vlmrt/tokenizer"
)

func init() {
	register(command{
		name:    "tokenize",
		summary: "show the token ids and pieces of a text (or decode ids)",
		run:     runTokenize,
	})
}

func runTokenize(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("tokenize", "--model DIR [--jsonl] [--decode] [--skip-special] [TEXT|IDS]", stderr)
	model := fs.String("model", "", "checkpoint or bundle directory holding tokenizer.json (directly or in tokenizer/)")
	jsonl := fs.Bool("jsonl", false, `read JSON lines {"text": ...} from stdin, write {"ids": [...]} lines (with --decode: {"ids"} in, {"text"} out)`)
	decode := fs.Bool("decode", false, "decode ids (comma or space separated) instead of encoding text")
	skipSpecial := fs.Bool("skip-special", false, "with --decode, drop special tokens")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" {
		return usageError("--model is required")
	}
	if *jsonl && fs.NArg() > 0 {
		return usageError("--jsonl reads stdin; unexpected arguments: %v", fs.Args())
	}
	tok, err := tokenizer.Load(*model)
	if err != nil {
		return err
	}
	if *jsonl {
		if *decode {
			return tok.DecodeJSONL(ctx, stdin, stdout, *skipSpecial)
		}
		return tok.EncodeJSONL(ctx, stdin, stdout)
	}
	input := strings.Join(fs.Args(), " ")
	if fs.NArg() == 0 {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return err
		}
		input = string(b)
	}
	if *decode {
		var ids []int32
		for _, f := range strings.FieldsFunc(input, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '[' || r == ']' }) {
			v, err := strconv.ParseInt(f, 10, 32)
			if err != nil {
				return usageError("--decode: %q is not a token id", f)
			}
			// An id outside the vocabulary has no text: dropping it
			// silently would print a wrong (or empty) decoding.
			if v < 0 || v >= int64(tok.VocabSize()) {
				return usageError("--decode: token id %d is outside the vocabulary (0..%d)", v, tok.VocabSize()-1)
			}
			ids = append(ids, int32(v))
		}
		_, err := fmt.Fprintln(stdout, tok.Decode(ids, *skipSpecial))
		return err
	}
	ids := tok.Encode(input)
	fmt.Fprintf(stdout, "%d tokens: %v\n", len(ids), ids)
	for _, id := range ids {
		fmt.Fprintf(stdout, "%8d  %q\n", id, tok.Piece(id))
	}
	return nil
}
