// Package f16 converts between float32 and the two 16-bit float formats
// checkpoints use: IEEE half (F16) and bfloat16 (BF16).
package f16

import "math"

// BF16ToF32 widens a bfloat16 bit pattern (the top half of a float32).
func BF16ToF32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// F32ToBF16 rounds f to bfloat16 with round-to-nearest-even (NaN stays NaN).
func F32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// ToF32 widens an IEEE half bit pattern to float32 exactly.
func ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf / NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: value = mant * 2^-24
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// FromF32 rounds f to the nearest IEEE half (ties to even), saturating to
// infinity past 65504 as IEEE rounding does.
func FromF32(f float32) uint16 {
	u := math.Float32bits(f)
	sign := uint16(u>>16) & 0x8000
	abs := u & 0x7fffffff
	switch {
	case abs > 0x7f800000: // NaN
		return sign | 0x7e00
	case abs >= 0x477ff000: // rounds to >= 65520: infinity
		return sign | 0x7c00
	case abs < 0x33000000: // < 2^-25: rounds to zero
		return sign
	case abs < 0x38800000: // subnormal half
		// value = abs_f * 2^24 as an integer with round-half-even
		exp := abs >> 23
		mant := abs&0x7fffff | 0x800000
		shift := 126 - exp // 2^(exp-127) * mant/2^23 * 2^24 = mant >> (126-exp) ... in units of 2^-24
		// units: value/2^-24 = mant * 2^(exp-127-23+24) = mant >> (126-exp)
		q := mant >> shift
		rem := mant & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && q&1 == 1 {
			q++
		}
		return sign | uint16(q)
	}
	// normal: rebias exponent 127 -> 15, round mantissa 23 -> 10 bits.
	v := abs - 112<<23
	q := v >> 13
	rem := v & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && q&1 == 1 {
		q++
	}
	return sign | uint16(q)
}
