#version 450
// Bindings declared out of order and used in yet another order: the
// [[buffer(n)]] indices follow the SPIR-V ids, not the binding numbers.
layout(local_size_x = 64) in;
layout(set = 0, binding = 2) readonly buffer X { float x[]; };
layout(set = 0, binding = 0) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 1) readonly buffer Z { float z[]; };
layout(push_constant) uniform P { uint n; } pc;
void main() {
  uint i = gl_GlobalInvocationID.x;
  if (i < pc.n) y[i] = x[i] + z[i];
}
