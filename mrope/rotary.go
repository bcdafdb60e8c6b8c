package mrope

import (
	"fmt"
	"math"
)

// Rotary holds the interleaved M-RoPE tables of one model: the inverse
// frequencies θ^(-2j/headDim) and the axis each frequency reads.
type Rotary struct {
	HeadDim int
	invFreq []float64
	axes    []Axis
}

// NewRotary builds the tables for head_dim, rope_theta and mrope_section.
func NewRotary(headDim int, theta float64, section []int) (*Rotary, error) {
	if headDim <= 0 || headDim%2 != 0 {
		return nil, fmt.Errorf("mrope: head_dim %d must be positive and even", headDim)
	}
	if theta <= 0 {
		return nil, fmt.Errorf("mrope: rope_theta %g must be positive", theta)
	}
	half := headDim / 2
	axes, err := Axes(half, section)
	if err != nil {
		return nil, err
	}
	inv := make([]float64, half)
	for j := range inv {
		inv[j] = math.Pow(theta, -float64(2*j)/float64(headDim))
	}
	return &Rotary{HeadDim: headDim, invFreq: inv, axes: axes}, nil
}

// Axes returns the frequency → axis table (shared; do not modify).
func (r *Rotary) Axes() []Axis { return r.axes }

// CosSin fills cos and sin (len head_dim/2 each) for position pos. Angles
// are formed in float64 so large positions keep their precision.
func (r *Rotary) CosSin(cos, sin []float32, pos [3]int32) {
	for j, f := range r.invFreq {
		a := float64(pos[r.axes[j]]) * f
		s, c := math.Sincos(a)
		cos[j], sin[j] = float32(c), float32(s)
	}
}
