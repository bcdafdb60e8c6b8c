package vision

import (
	"slices"
	"testing"
)

// TestPatchOriginBlockMajor checks the patch order on a non-square grid
// against the preprocessor's definition (golden README): row index
// ((br·W/2 + bc)·2 + ir)·2 + ic holds the patch at (br·2+ir, bc·2+ic).
func TestPatchOriginBlockMajor(t *testing.T) {
	const gridH, gridW = 30, 40
	for br := 0; br < gridH/2; br++ {
		for bc := 0; bc < gridW/2; bc++ {
			for ir := 0; ir < 2; ir++ {
				for ic := 0; ic < 2; ic++ {
					p := ((br*(gridW/2)+bc)*2+ir)*2 + ic
					r, c := patchOrigin(p, gridW, 2)
					if r != br*2+ir || c != bc*2+ic {
						t.Fatalf("patch %d at (%d, %d), want (%d, %d)", p, r, c, br*2+ir, bc*2+ic)
					}
				}
			}
		}
	}
}

// TestPosEmbedIdentityAndCorners: sampling the table at its own size reads
// every entry unchanged (align-corners puts samples on the table's nodes),
// and any grid's four corner patches are the table's four corners exactly.
func TestPosEmbedIdentityAndCorners(t *testing.T) {
	const side, hidden = 6, 5
	table := make([]float32, side*side*hidden)
	for i := range table {
		table[i] = float32(i%97) * 0.25
	}
	row := func(r, c int) []float32 { return table[(r*side+c)*hidden : (r*side+c+1)*hidden] }

	same := interpolatePosEmbed(table, side, hidden, side, side, 2)
	for p := 0; p < side*side; p++ {
		r, c := patchOrigin(p, side, 2)
		if got := same[p*hidden : (p+1)*hidden]; !slices.Equal(got, row(r, c)) {
			t.Fatalf("grid = table size: patch %d (%d,%d) = %v, want %v", p, r, c, got, row(r, c))
		}
	}

	const gridH, gridW = 10, 4
	pe := interpolatePosEmbed(table, side, hidden, gridH, gridW, 2)
	for p := 0; p < gridH*gridW; p++ {
		r, c := patchOrigin(p, gridW, 2)
		got := pe[p*hidden : (p+1)*hidden]
		if (r == 0 || r == gridH-1) && (c == 0 || c == gridW-1) {
			want := row(r*(side-1)/(gridH-1), c*(side-1)/(gridW-1))
			if !slices.Equal(got, want) {
				t.Errorf("corner (%d,%d) = %v, want %v", r, c, got, want)
			}
		}
	}
	// A one-patch-wide axis samples the table's first node only.
	if one := linspace(47, 1); len(one) != 1 || one[0] != 0 {
		t.Errorf("linspace(47, 1) = %v, want [0]", one)
	}
}
