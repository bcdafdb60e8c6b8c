package mrope

import "fmt"

// Axis is the position coordinate a rotary frequency takes its angle from.
type Axis uint8

const (
	T Axis = iota // temporal (text position for text tokens)
	H             // merged-grid row
	W             // merged-grid column
)

func (a Axis) String() string {
	switch a {
	case T:
		return "t"
	case H:
		return "h"
	case W:
		return "w"
	}
	return fmt.Sprintf("Axis(%d)", uint8(a))
}

// Axes returns the interleaved frequency → axis table for half rotary
// frequencies split by section = [t, h, w] counts (Hugging Face
// apply_interleaved_mrope): frequency j is H when j%3 == 1 and
// j < 3*section[1], W when j%3 == 2 and j < 3*section[2], else T. The
// section bounds matter: with [24,20,20] frequencies 60..63 fall back to T,
// which a plain j%3 rule gets wrong.
func Axes(half int, section []int) ([]Axis, error) {
	if len(section) != 3 {
		return nil, fmt.Errorf("mrope: section %v must have 3 entries", section)
	}
	if s := section[0] + section[1] + section[2]; s != half || section[0] < 0 || section[1] < 0 || section[2] < 0 {
		return nil, fmt.Errorf("mrope: section %v does not split %d frequencies", section, half)
	}
	axes := make([]Axis, half)
	for j := range axes {
		switch {
		case j%3 == 1 && j < 3*section[1]:
			axes[j] = H
		case j%3 == 2 && j < 3*section[2]:
			axes[j] = W
		default:
			axes[j] = T
		}
	}
	return axes, nil
}
