package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/bits"
	"runtime"
	"sync"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/decoder"
	"github.com/vlmrt/vlmrt/internal/f16"
	"github.com/vlmrt/vlmrt/internal/hugepage"
	"github.com/vlmrt/vlmrt/internal/quant"
	"github.com/vlmrt/vlmrt/internal/safetensors"
	"github.com/vlmrt/vlmrt/internal/weights"
	"github.com/vlmrt/vlmrt/vision"
)

// Weight statistics of the random model. Trained Qwen3-VL weights are
// initialised at N(0, 0.02) and stay near it; an int8 block of 32 such
// values has an absmax near 3σ, so its scale is about 3·0.02/127 and the
// int8 values spread with σ ≈ 127/3. With these magnitudes every matrix
// product keeps unit-scale activations unit-scale, and RMSNorm/LayerNorm
// bound the residual streams through all layers, so logits stay finite.
const (
	weightStd = 0.02
	q8Std     = 127.0 / 3
	q8Scale   = 3 * weightStd / 127
)

// fill says what a tensor holds.
type fill int

const (
	fillQ8    fill = iota // I8 values ~ N(0, q8Std), within ±127
	fillScale             // F16 block scales, all q8Scale
	fillHalf              // F16 values ~ N(0, weightStd)
	fillOnes              // F32 1 (norm weights)
	fillZeros             // F32 0 (biases)
)

// planned is one tensor to synthesize.
type planned struct {
	name  string
	dtype safetensors.DType
	shape []int
	fill  fill
}

// plan lists every tensor the decoder and (if vision) the vision tower
// bind, under the Hugging Face names decoder.Load and vision.LoadEncoder
// look up. Linears are stored pre-quantized (an I8 tensor plus F16
// "<name>.scales"), as a converted bundle stores them, so loading maps them
// without quantizing. The head is always an untied int8 lm_head.weight,
// which is what a loaded model decodes with even when the checkpoint ties it.
func plan(cfg *config.Model, withVision bool) []planned {
	specs := decoder.Manifest(cfg)
	if withVision {
		specs = append(specs, vision.Manifest(cfg)...)
	}
	var ps []planned
	for _, s := range specs {
		switch s.Role {
		case weights.RoleLinear: // includes the head, always present (untied) here
			rows, cols := s.Shape[0], s.Shape[1]
			ps = append(ps,
				planned{s.Name, safetensors.I8, s.Shape, fillQ8},
				planned{s.Name + weights.ScalesSuffix, safetensors.F16, []int{rows, quant.BlocksPerRow(cols)}, fillScale})
		case weights.RoleNorm:
			ps = append(ps, planned{s.Name, safetensors.F32, s.Shape, fillOnes})
		case weights.RoleBias:
			ps = append(ps, planned{s.Name, safetensors.F32, s.Shape, fillZeros})
		default: // embedding table and the vision tower's float weights
			ps = append(ps, planned{s.Name, safetensors.F16, s.Shape, fillHalf})
		}
	}
	return ps
}

// RandomSource synthesizes every weight of cfg's decoder and vision tower
// with seeded random values (the same seed gives the same bytes on any
// machine and thread count). Decoder linears and the head are int8 with
// float16 block scales, never materialized as floats; the embedding and the
// vision tower are float16. The bytes are written by all cores in parallel:
// the 4B shape (about 5.9 GB) takes seconds.
func RandomSource(ctx context.Context, cfg *config.Model, seed uint64) (weights.MapSource, error) {
	return randomSource(ctx, cfg, seed, true)
}

// fillChunk is the unit of parallel work: big enough to amortize
// scheduling, small enough to balance two cores over a few large tensors.
const fillChunk = 8 << 20

func randomSource(ctx context.Context, cfg *config.Model, seed uint64, vision bool) (weights.MapSource, error) {
	ps := plan(cfg, vision)
	src := make(weights.MapSource, len(ps))
	type job struct {
		p      *planned
		data   []byte
		lo, hi int
		seed   uint64
	}
	var jobs []job
	for i := range ps {
		p := &ps[i]
		n := p.dtype.Size()
		for _, d := range p.shape {
			n *= d
		}
		if n <= 0 {
			return nil, fmt.Errorf("bench: tensor %q has shape %v", p.name, p.shape)
		}
		var data []byte
		if p.dtype == safetensors.I8 || p.fill == fillScale {
			// The int8 weights and their scales decode streams: huge
			// pages, as quant.New gives a checkpoint's weights.
			data = hugepage.Alloc(n)
		} else {
			data = make([]byte, n)
		}
		src[p.name] = safetensors.Tensor{Name: p.name, DType: p.dtype, Shape: p.shape, Data: data}
		base := seed ^ nameHash(p.name)
		for lo, c := 0, uint64(0); lo < n; lo, c = lo+fillChunk, c+1 {
			jobs = append(jobs, job{p, data, lo, min(lo+fillChunk, n), base + c*0x9e3779b97f4a7c15})
		}
	}
	next := make(chan job)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				fillBytes(j.data[j.lo:j.hi], j.p.fill, j.seed)
			}
		}()
	}
	var err error
	for _, j := range jobs {
		if err = ctx.Err(); err != nil {
			break
		}
		next <- j
	}
	close(next)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return src, nil
}

// nameHash decorrelates tensors that share a seed.
func nameHash(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// Lookup tables map one random byte to a value: 256 quantiles of the target
// normal distribution. Cheaper than any transform per value, and the
// distribution is what matters, not the number of distinct values.
var (
	q8Table   [256]int8
	halfTable [256]uint16
	halfScale = f16.FromF32(q8Scale)
)

func init() {
	for i := range 256 {
		z := math.Sqrt2 * math.Erfinv(2*(float64(i)+0.5)/256-1)
		q8Table[i] = int8(max(-127, min(127, math.Round(q8Std*z))))
		halfTable[i] = f16.FromF32(float32(weightStd * z))
	}
}

// fillBytes writes b (a whole number of elements, since chunks are
// multiples of 8 bytes) with values of kind f drawn from a wyrand stream.
func fillBytes(b []byte, f fill, seed uint64) {
	r := wyrand(seed)
	switch f {
	case fillQ8:
		i := 0
		for ; i+8 <= len(b); i += 8 {
			x := r.next()
			for k := range 8 {
				b[i+k] = byte(q8Table[byte(x>>(8*k))])
			}
		}
		for ; i < len(b); i++ {
			b[i] = byte(q8Table[byte(r.next())])
		}
	case fillHalf:
		i := 0
		for ; i+8 <= len(b); i += 8 {
			x := r.next()
			for k := range 4 {
				binary.LittleEndian.PutUint16(b[i+2*k:], halfTable[byte(x>>(8*k))])
			}
		}
		for ; i+2 <= len(b); i += 2 {
			binary.LittleEndian.PutUint16(b[i:], halfTable[byte(r.next())])
		}
	case fillScale:
		for i := 0; i+2 <= len(b); i += 2 {
			binary.LittleEndian.PutUint16(b[i:], halfScale)
		}
	case fillOnes:
		for i := 0; i+4 <= len(b); i += 4 {
			binary.LittleEndian.PutUint32(b[i:], math.Float32bits(1))
		}
	case fillZeros:
		clear(b)
	}
}

// wyrand is a tiny, fast 64-bit generator (Wang Yi's wyrand): one multiply
// per 8 random bytes, good enough statistically for benchmark weights.
type wyrand uint64

func (r *wyrand) next() uint64 {
	*r += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(uint64(*r), uint64(*r)^0xe7037ed1a0b428db)
	return hi ^ lo
}
