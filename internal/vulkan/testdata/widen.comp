#version 450
// widen reads int8 and fp16 storage and writes float:
// out[i] = float(q[i]) * float(h[i]) + float(pc.bias).
#extension GL_EXT_shader_8bit_storage : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require

layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer Q { int8_t q[]; };
layout(std430, set = 0, binding = 1) readonly buffer H { float16_t h[]; };
layout(std430, set = 0, binding = 2) writeonly buffer O { float o[]; };

layout(push_constant) uniform P { uint n; float bias; } pc;

void main() {
	uint i = gl_GlobalInvocationID.x;
	if (i >= pc.n) return;
	o[i] = float(q[i]) * float(h[i]) + pc.bias;
}
