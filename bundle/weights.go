package bundle

import (
	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/safetensors"
)

// OpenWeights maps the location's weights as one name space with the
// checkpoint's Hugging Face tensor names; the result is a weights.Source.
// A converted bundle serves its int8 linears as "<name>" (I8) plus
// "<name>.scales" (F16), which weights.LoadLinear maps without quantizing.
// Close the set when the model built from it is no longer used.
func (l *Location) OpenWeights() (*safetensors.Set, error) {
	if l.Kind == KindCheckpoint {
		return openCheckpointWeights(l.Checkpoint)
	}
	if !l.HasPortableWeights() {
		return nil, errorf(ErrNoPortableWeights, l.Decoder.Dir,
			"this Core AI bundle runs only under Apple's Core AI; for the portable engines add converted weights with: vlmrt convert --from CHECKPOINT --into %s", l.Decoder.Dir)
	}
	return safetensors.OpenSet(l.Decoder.Weights, l.Vision.Weights)
}

// LoadConfig reads the location's config.json.
func (l *Location) LoadConfig() (*config.Model, error) {
	if l.Config == "" {
		return nil, errorf(ErrNoPortableWeights, l.Decoder.Dir,
			"a Core AI bundle carries no config.json until converted weights are added (vlmrt convert --from CHECKPOINT --into %s)", l.Decoder.Dir)
	}
	return config.Load(l.Config)
}
