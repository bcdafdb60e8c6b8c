#version 450
// Named instances, an MSL keyword as a name, a uniform block, no -O: the
// names survive into the MSL.
layout(local_size_x = 16, local_size_y = 4) in;
layout(set = 1, binding = 5) readonly buffer Weights { float w[]; } device;
layout(set = 0, binding = 0) buffer Out { float o[]; } outBuf;
layout(set = 0, binding = 3) uniform Params { uint n; uint stride; } params;
layout(push_constant) uniform Push { uint offset; float alpha; vec2 pad; } pc;
void main() {
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * params.stride;
  if (i < params.n) outBuf.o[i] = pc.alpha * device.w[i + pc.offset];
}
