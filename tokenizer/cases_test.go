package tokenizer

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

var testDir = filepath.Join("..", "testdata", "tokenizer")

var (
	loadOnce sync.Once
	loadTok  *Tokenizer
	loadErr  error
)

func testTokenizer(tb testing.TB) *Tokenizer {
	tb.Helper()
	loadOnce.Do(func() { loadTok, loadErr = Load(testDir) })
	if loadErr != nil {
		tb.Fatal(loadErr)
	}
	return loadTok
}

type caseRecord struct {
	Type     string   `json:"type"`
	ID       string   `json:"id"`
	Category string   `json:"category"`
	Kind     string   `json:"kind"`
	Text     string   `json:"text"`
	IDs      []int32  `json:"ids"`
	Tokens   []string `json:"tokens"`
	Decoded  string   `json:"text_decoded"`
	DecSkip  string   `json:"text_decoded_skip_special"`
	BytesHex string   `json:"bytes_hex"`
}

func readCases(tb testing.TB) []caseRecord {
	tb.Helper()
	f, err := os.Open(filepath.Join(testDir, "cases_dev.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []caseRecord
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if strings.TrimSpace(line) != "" {
			var c caseRecord
			if err := json.Unmarshal([]byte(line), &c); err != nil {
				tb.Fatalf("cases_dev.jsonl: %v", err)
			}
			out = append(out, c)
		}
		if err != nil {
			break
		}
	}
	return out
}

func TestEncodeCases(t *testing.T) {
	tok := testTokenizer(t)
	n := 0
	for _, c := range readCases(t) {
		if c.Type != "encode" {
			continue
		}
		n++
		got := tok.Encode(c.Text)
		if !slices.Equal(got, c.IDs) {
			t.Errorf("%s (%s) %q:\n got %v\nwant %v", c.ID, c.Category, c.Text, got, c.IDs)
			continue
		}
		for i, id := range got {
			if tok.Piece(id) != c.Tokens[i] {
				t.Errorf("%s: Piece(%d) = %q, want %q", c.ID, id, tok.Piece(id), c.Tokens[i])
			}
		}
	}
	if n != 484 {
		t.Errorf("ran %d encode cases, want 484", n)
	}
}

func TestDecodeCases(t *testing.T) {
	tok := testTokenizer(t)
	n := 0
	for _, c := range readCases(t) {
		if c.Type != "decode" {
			continue
		}
		n++
		if got := hex.EncodeToString(tok.DecodeBytes(c.IDs, false)); got != c.BytesHex {
			t.Errorf("%s (%s) bytes: got %s want %s", c.ID, c.Kind, got, c.BytesHex)
		}
		if got := tok.Decode(c.IDs, false); got != c.Decoded {
			t.Errorf("%s (%s) decode: got %q want %q", c.ID, c.Kind, got, c.Decoded)
		}
		if got := tok.Decode(c.IDs, true); got != c.DecSkip {
			t.Errorf("%s (%s) decode skip special: got %q want %q", c.ID, c.Kind, got, c.DecSkip)
		}
		for _, skip := range []bool{false, true} {
			want := c.Decoded
			d := tok.NewStreamDecoder()
			if skip {
				want, d = c.DecSkip, tok.NewStreamDecoderSkipSpecial()
			}
			var sb strings.Builder
			for k, id := range c.IDs {
				piece := d.Add(id)
				sb.WriteString(piece)
				// Any U+FFFD emitted so far must also be in the final decode of
				// this prefix followed by everything else, i.e. never one that a
				// later token completes: the emitted text is a prefix of want.
				if !strings.HasPrefix(want, sb.String()) {
					t.Errorf("%s skip=%v: after %d ids stream gave %q, not a prefix of %q", c.ID, skip, k+1, sb.String(), want)
					break
				}
				if !utf8.ValidString(piece) {
					t.Errorf("%s: stream piece %q is not valid UTF-8", c.ID, piece)
				}
			}
			sb.WriteString(d.Flush())
			if sb.String() != want {
				t.Errorf("%s skip=%v stream: got %q want %q", c.ID, skip, sb.String(), want)
			}
		}
	}
	if n != 324 {
		t.Errorf("ran %d decode cases, want 324", n)
	}
	if got := tok.Decode(nil, false); got != "" {
		t.Errorf("Decode(nil) = %q", got)
	}
}

// TestStreamDecoderRandom feeds long random id sequences, biased towards
// byte-level tokens that split UTF-8 characters, one at a time and checks
// the stream against Decode after every token.
func TestStreamDecoderRandom(t *testing.T) {
	tok := testTokenizer(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		var ids []int32
		d := tok.NewStreamDecoder()
		var sb strings.Builder
		for k := 0; k < 60; k++ {
			var id int32
			switch rng.IntN(3) {
			case 0:
				id = tok.byteIDs[rng.IntN(256)] // single raw bytes, often partial characters
			case 1:
				id = tok.byteIDs[0x80+rng.IntN(0x78)] // continuation and lead bytes
			default:
				id = int32(rng.IntN(tok.VocabSize()))
			}
			ids = append(ids, id)
			sb.WriteString(d.Add(id))
			full := tok.Decode(ids, false)
			if !strings.HasPrefix(full, sb.String()) {
				t.Fatalf("round %d: stream %q is not a prefix of Decode %q", round, sb.String(), full)
			}
		}
		sb.WriteString(d.Flush())
		if want := tok.Decode(ids, false); sb.String() != want {
			t.Fatalf("round %d: stream %q, Decode %q", round, sb.String(), want)
		}
	}
}

// TestConcurrentEncode shares one Tokenizer (and its word cache) between
// goroutines; run with -race to check the synchronization.
func TestConcurrentEncode(t *testing.T) {
	tok := testTokenizer(t)
	var cases []caseRecord
	for _, c := range readCases(t) {
		if c.Type == "encode" {
			cases = append(cases, c)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := range cases {
				c := cases[(i+g*97)%len(cases)]
				if !slices.Equal(tok.Encode(c.Text), c.IDs) {
					errs <- c.ID
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for id := range errs {
		t.Errorf("concurrent Encode of %s differs", id)
	}
}
