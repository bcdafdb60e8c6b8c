// Package mrope turns a token layout into Qwen3-VL's multimodal rotary
// positions and rotates query/key heads by them.
//
// Every token has three rotary coordinates (t, h, w). Text tokens use the
// same value on all three axes; an image's merged-grid tokens share t and
// spread h over rows and w over columns. Two equivalent ways of computing
// them live here:
//
//   - RopeIndex, Hugging Face's general get_rope_index: any number of images,
//     any merged grid, explicit positions for the whole prompt;
//   - SelfLocate, the fixed-grid form of docs/design.md §2.6 that a decoder graph
//     can evaluate from (id, sequence index) alone, given the two static
//     rope-shift numbers RopeShift computes on the host.
//
// Rotary applies the interleaved M-RoPE of docs/design.md §2.7 to one head.
package mrope
