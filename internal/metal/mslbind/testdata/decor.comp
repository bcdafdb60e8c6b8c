#version 450
// No push constants: with --msl-decoration-binding, [[buffer(n)]] is the
// binding number itself, which Bind must find.
layout(local_size_x = 64) in;
layout(set = 0, binding = 2) readonly buffer X { float x[]; };
layout(set = 0, binding = 0) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 1) readonly buffer Z { float z[]; };
void main() {
  uint i = gl_GlobalInvocationID.x;
  y[i] = x[i] + z[i];
}
