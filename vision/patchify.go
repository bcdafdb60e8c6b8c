package vision

import (
	"fmt"

	"github.com/vlmrt/vlmrt/config"
)

// Grid describes the fixed patch grid the vision tower was configured for.
// Every size in the pipeline derives from it, so a model with another
// preprocessor config only needs a different Grid value.
type Grid struct {
	ImageSize     int // side of the square model input in pixels (448)
	PatchSize     int // side of one patch in pixels (16)
	TemporalPatch int // frames per patch; a still image is repeated this many times (2)
	MergeSize     int // side of the patch group the merger fuses into one token (2)
}

// DefaultGrid is Qwen3-VL's preprocessor config at the fixed 448x448 input:
// 28x28 patches of 16x16 pixels, 2 temporal copies, 2x2 merge → 196 tokens.
func DefaultGrid() Grid {
	return Grid{ImageSize: config.FixedImageSize, PatchSize: 16, TemporalPatch: 2, MergeSize: 2}
}

// Validate reports whether the grid can be patchified and merged exactly.
func (g Grid) Validate() error {
	if g.ImageSize <= 0 || g.PatchSize <= 0 || g.TemporalPatch <= 0 || g.MergeSize <= 0 {
		return fmt.Errorf("vision: grid sizes must be positive, got %+v", g)
	}
	if g.ImageSize%(g.PatchSize*g.MergeSize) != 0 {
		return fmt.Errorf("vision: grid image size %d is not a multiple of patch size %d × merge size %d",
			g.ImageSize, g.PatchSize, g.MergeSize)
	}
	if g.ImageSize > 1<<14 {
		return fmt.Errorf("vision: grid image size %d is too large (max %d)", g.ImageSize, 1<<14)
	}
	return nil
}

// PatchesPerSide is the number of patches along one side (28).
func (g Grid) PatchesPerSide() int { return g.ImageSize / g.PatchSize }

// NumPatches is the number of rows of the patch tensor (784).
func (g Grid) NumPatches() int { n := g.PatchesPerSide(); return n * n }

// PatchDim is the length of one flattened patch: channel × temporal × pixel rows × pixel columns (1536).
func (g Grid) PatchDim() int { return 3 * g.TemporalPatch * g.PatchSize * g.PatchSize }

// MergedSide is the token grid side after the merger (14).
func (g Grid) MergedSide() int { return g.PatchesPerSide() / g.MergeSize }

// NumTokens is the number of image tokens the merger emits (196).
func (g Grid) NumTokens() int { m := g.MergedSide(); return m * m }

// normalizedLevel maps a uint8 level to the model's input value exactly as
// Hugging Face computes it: rescale by 1/255 in float64 then cast to float32
// (image_transforms.rescale), then (x - 0.5) / 0.5 in float32
// (image_transforms.normalize with mean = std = 0.5). A table keeps the
// arithmetic out of the pixel loop and makes it bit-exact by construction.
var normalizedLevel = func() (t [256]float32) {
	for i := range t {
		x := float32(float64(i) * (1.0 / 255))
		t[i] = (x - float32(0.5)) / float32(0.5)
	}
	return t
}()

// patchify cuts an RGB image of pg.Rows×pg.Cols patches (packed R,G,B
// bytes, row-major, width pixels a row) into the patch tensor
// [pg.NumPatches(), g.PatchDim()] in the order of
// Qwen2VLImageProcessor: patches are enumerated merge-group-major (each
// MergeSize×MergeSize group of patches, groups in raster order, patches of a
// group in raster order), and each patch is flattened as
// [channel][temporal copy][pixel row][pixel column].
func patchify(rgb []uint8, width int, g Grid, pg PatchGrid, dst []float32) {
	ps, ms, tp := g.PatchSize, g.MergeSize, g.TemporalPatch
	mergedCols := pg.Cols / ms
	dim := g.PatchDim()
	frame := ps * ps // one channel of one temporal copy
	for gr := 0; gr < pg.Rows; gr++ {
		for gc := 0; gc < pg.Cols; gc++ {
			group := (gr/ms)*mergedCols + gc/ms
			p := (group*ms+gr%ms)*ms + gc%ms
			row := dst[p*dim : (p+1)*dim]
			for py := 0; py < ps; py++ {
				src := rgb[((gr*ps+py)*width+gc*ps)*3:]
				for px := 0; px < ps; px++ {
					for c := 0; c < 3; c++ {
						v := normalizedLevel[src[px*3+c]]
						base := c*tp*frame + py*ps + px
						for t := 0; t < tp; t++ {
							row[base+t*frame] = v
						}
					}
				}
			}
		}
	}
}
