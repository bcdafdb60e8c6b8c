#version 450
// add: o[i] = a[i] + b[i] * float(MUL) + pc.c for i < pc.n.
// Specialization constant 0 is the workgroup size, 1 a multiplier.

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint MUL = 1;

layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer O { float o[]; };

layout(push_constant) uniform P { uint n; float c; } pc;

void main() {
	uint i = gl_GlobalInvocationID.x;
	if (i >= pc.n) return;
	o[i] = a[i] + b[i] * float(MUL) + pc.c;
}
