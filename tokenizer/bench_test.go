package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func longDocs(tb testing.TB) ([]string, int) {
	var docs []string
	total := 0
	for _, c := range readCases(tb) {
		if c.Type == "encode" && c.Category == "long_doc" {
			docs = append(docs, c.Text)
			total += len(c.Text)
		}
	}
	if len(docs) == 0 {
		tb.Fatal("no long_doc cases")
	}
	return docs, total
}

// BenchmarkEncodeLongDoc measures encode throughput (MB/s) on the long mixed
// documents, with a warm word cache as in a serving process.
func BenchmarkEncodeLongDoc(b *testing.B) {
	tok := testTokenizer(b)
	docs, total := longDocs(b)
	b.SetBytes(int64(total))
	b.ResetTimer()
	for b.Loop() {
		for _, d := range docs {
			tok.Encode(d)
		}
	}
}

// BenchmarkEncodeLongDocCold measures the same with an empty word cache on
// every pass, i.e. the BPE merge loop itself.
func BenchmarkEncodeLongDocCold(b *testing.B) {
	tok := testTokenizer(b)
	docs, total := longDocs(b)
	b.SetBytes(int64(total))
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		saved := tok.cache
		tok.cache = newWordCache()
		b.StartTimer()
		for _, d := range docs {
			tok.Encode(d)
		}
		b.StopTimer()
		tok.cache = saved
		b.StartTimer()
	}
}

// FuzzEncodeDecode checks that encoding never panics and that decoding
// restores the NFC form of any valid UTF-8 text without added-token text.
func FuzzEncodeDecode(f *testing.F) {
	tok := testTokenizer(f)
	for _, c := range readCases(f) {
		if c.Type == "encode" {
			f.Add(c.Text)
		}
	}
	f.Add("a   b\u00a0\u3000\n\r\n x")
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		for _, id := range ids {
			if id < 0 || int(id) >= tok.VocabSize() {
				t.Fatalf("Encode(%q) gave id %d outside the vocabulary", s, id)
			}
		}
		if !utf8.ValidString(s) {
			return
		}
		for _, a := range tok.added {
			if strings.Contains(s, a.content) {
				return
			}
		}
		want := norm.NFC.String(s)
		if got := tok.Decode(ids, false); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q, want %q", s, got, want)
		}
	})
}
