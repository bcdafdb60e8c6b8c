package tokenizer

// Encoder is the text ↔ ids part of a tokenizer. *Tokenizer implements it in
// pure Go; built with the tag hftokenizers, *HFTokenizer implements it with
// Hugging Face's Rust library, for cross-checking or as an alternative.
type Encoder interface {
	Encode(text string) []int32
	Decode(ids []int32, skipSpecial bool) string
}

var _ Encoder = (*Tokenizer)(nil)
