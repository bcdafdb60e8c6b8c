#version 450
// Every specialization route at once, with a deterministic result to check
// on a GPU: the workgroup size from SpecId 0 (a function constant), a
// shared array sized by SpecId 1 (a macro), a float SpecId 2 (a function
// constant), push constants, bindings in reverse order, and .length().
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int N = 4;
layout(constant_id = 2) const float SCALE = 1.0;
layout(set = 0, binding = 1) writeonly buffer Out { float o[]; };
layout(set = 0, binding = 0) readonly buffer In { float x[]; };
layout(push_constant) uniform P { uint count; } pc;
shared float acc[N];
void main() {
  uint i = gl_GlobalInvocationID.x;
  if (gl_LocalInvocationIndex < uint(N)) acc[gl_LocalInvocationIndex] = float(gl_LocalInvocationIndex + 1);
  barrier();
  float s = 0.0;
  for (int k = 0; k < N; k++) s += acc[k];
  if (i < pc.count && i < uint(o.length())) o[i] = x[i] * SCALE + s + float(o.length());
}
