package decoder

// Stage names a point of the forward pass where a Tracer sees the hidden
// state; the names match the oracle's golden tensors.
type Stage int

const (
	InputsEmbeds       Stage = iota // decoder input after the image scatter
	LayerOut                        // a layer's output, before the DeepStack add
	LayerPostDeepstack              // after the DeepStack add (= LayerOut past the DeepStack layers and for text)
	FinalNorm                       // after the final RMSNorm
)

func (s Stage) String() string {
	switch s {
	case InputsEmbeds:
		return "inputs_embeds"
	case LayerOut:
		return "layer_out"
	case LayerPostDeepstack:
		return "layer_post_ds"
	case FinalNorm:
		return "final_norm"
	}
	return "stage?"
}

// Tracer observes hidden states, for tests and debugging. Trace is called
// for every token of a Forward at every stage (layer is -1 for
// InputsEmbeds and FinalNorm); index is the token's sequence index and h
// (len hidden) is only valid during the call.
type Tracer interface {
	Trace(stage Stage, layer, index int, h []float32)
}
