package vision

import (
	"strconv"

	"github.com/vlmrt/vlmrt/config"
	"github.com/vlmrt/vlmrt/internal/weights"
)

// Manifest lists every tensor LoadEncoder binds for cfg, with its shape:
// the one place tools (inspect, bench, conversion checks) learn the vision
// tower's tensor names. TestManifestMatchesLoad keeps it and LoadEncoder in step.
func Manifest(cfg *config.Model) []weights.Spec {
	v := cfg.Vision
	h, unit := v.HiddenSize, v.SpatialMergeSize*v.SpatialMergeSize
	var specs []weights.Spec
	add := func(name string, role weights.Role, shape ...int) {
		specs = append(specs, weights.Spec{Name: visualPrefix + name, Shape: shape, Role: role})
	}
	norm := func(name string, n int) {
		add(name+".weight", weights.RoleNorm, n)
		add(name+".bias", weights.RoleBias, n)
	}
	biased := func(name string, rows, cols int) {
		add(name+".weight", weights.RoleFloat, rows, cols)
		add(name+".bias", weights.RoleBias, rows)
	}
	add("patch_embed.proj.weight", weights.RoleFloat, h, v.InChannels, v.TemporalPatchSize, v.PatchSize, v.PatchSize)
	add("patch_embed.proj.bias", weights.RoleBias, h)
	add("pos_embed.weight", weights.RoleFloat, v.NumPositionEmbeddings, h)
	for i := 0; i < v.Depth; i++ {
		b := "blocks." + strconv.Itoa(i)
		norm(b+".norm1", h)
		norm(b+".norm2", h)
		biased(b+".attn.qkv", 3*h, h)
		biased(b+".attn.proj", h, h)
		biased(b+".mlp.linear_fc1", v.IntermediateSize, h)
		biased(b+".mlp.linear_fc2", h, v.IntermediateSize)
	}
	merger := func(prefix string, normWidth int) {
		norm(prefix+".norm", normWidth)
		biased(prefix+".linear_fc1", unit*h, unit*h)
		biased(prefix+".linear_fc2", v.OutHiddenSize, unit*h)
	}
	merger("merger", h)
	for k := range v.DeepstackIndexes {
		merger("deepstack_merger_list."+strconv.Itoa(k), unit*h)
	}
	return specs
}
