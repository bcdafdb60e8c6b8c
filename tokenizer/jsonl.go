package tokenizer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// EncodeJSONL reads JSON lines {"text": "..."} from r and writes one line
// {"ids": [...]} per input line to w, in order. Blank lines are skipped.
// Lines of any length are accepted. Output is flushed whenever the input has
// no more buffered data, so the command also works interactively.
func (t *Tokenizer) EncodeJSONL(ctx context.Context, r io.Reader, w io.Writer) error {
	return processJSONL(ctx, r, w, func(line []byte, out []byte) ([]byte, error) {
		var rec struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			return nil, err
		}
		if rec.Text == nil {
			return nil, errors.New(`missing "text"`)
		}
		return appendIDsJSON(out, t.Encode(*rec.Text)), nil
	})
}

// DecodeJSONL reads JSON lines {"ids": [...]} and writes {"text": "..."}
// lines; skipSpecial drops special tokens.
func (t *Tokenizer) DecodeJSONL(ctx context.Context, r io.Reader, w io.Writer, skipSpecial bool) error {
	return processJSONL(ctx, r, w, func(line []byte, out []byte) ([]byte, error) {
		var rec struct {
			IDs *[]int32 `json:"ids"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			return nil, err
		}
		if rec.IDs == nil {
			return nil, errors.New(`missing "ids"`)
		}
		text, err := json.Marshal(t.Decode(*rec.IDs, skipSpecial))
		if err != nil {
			return nil, err
		}
		out = append(out, `{"text": `...)
		out = append(out, text...)
		return append(out, '}'), nil
	})
}

func appendIDsJSON(out []byte, ids []int32) []byte {
	out = append(out, `{"ids": [`...)
	for i, id := range ids {
		if i > 0 {
			out = append(out, ", "...)
		}
		out = strconv.AppendInt(out, int64(id), 10)
	}
	return append(out, "]}"...)
}

func processJSONL(ctx context.Context, r io.Reader, w io.Writer, fn func(line, out []byte) ([]byte, error)) error {
	br := bufio.NewReaderSize(r, 1<<16)
	bw := bufio.NewWriterSize(w, 1<<16)
	var out []byte
	for lineNo := 1; ; lineNo++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, readErr := br.ReadBytes('\n')
		if readErr != nil && readErr != io.EOF {
			return fmt.Errorf("reading input line %d: %w", lineNo, readErr)
		}
		if strings.TrimSpace(string(line)) != "" {
			var err error
			out, err = fn(line, out[:0])
			if err != nil {
				return fmt.Errorf("input line %d: %w", lineNo, err)
			}
			out = append(out, '\n')
			if _, err := bw.Write(out); err != nil {
				return err
			}
		}
		if readErr == io.EOF {
			break
		}
		if br.Buffered() == 0 { // about to block on input: let the reader see our output
			if err := bw.Flush(); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}
