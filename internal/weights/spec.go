package weights

import "github.com/vlmrt/vlmrt/internal/safetensors"

// Role says what a tensor is for, which decides how tools that synthesize
// or convert weights store it (the loaders themselves check names and shapes).
type Role int

const (
	// RoleLinear is a [out, in] matrix the decoder runs in int8.
	RoleLinear Role = iota
	// RoleNorm is a norm's scale vector (1 at initialization).
	RoleNorm
	// RoleBias is a bias or norm shift vector (0 at initialization).
	RoleBias
	// RoleFloat is any other float weight kept in float (embedding table,
	// vision matrices, position table, patch projection).
	RoleFloat
)

// Spec describes one tensor a model binds: its checkpoint name and shape.
type Spec struct {
	Name  string
	Shape []int
	Role  Role
	// Optional tensors may be absent (a tied lm_head).
	Optional bool
}

// Recorder is a Source that remembers which tensors were read, so tests can
// check that a loader binds exactly the tensors its manifest lists.
type Recorder struct {
	Source
	Read map[string]bool
}

// NewRecorder wraps src.
func NewRecorder(src Source) *Recorder { return &Recorder{Source: src, Read: map[string]bool{}} }

// Tensor records name and delegates.
func (r *Recorder) Tensor(name string) (safetensors.Tensor, error) {
	r.Read[name] = true
	return r.Source.Tensor(name)
}
