#version 450
// Shared arrays of several types, a spec constant in an array size (a
// macro in the MSL), float and bool spec constants, a uniform block, and
// .length() (spvBufferSizeConstants).
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_16bit_storage : require
layout(local_size_x = 128) in;
layout(constant_id = 0) const int NEG = -3;
layout(constant_id = 1) const float EPS = 1e-6;
layout(constant_id = 2) const bool FLAG = true;
layout(set = 0, binding = 0) buffer Y { float y[]; };
layout(set = 0, binding = 1) uniform U { uint n; float scale; } u;
shared vec4 tile[16][8];
shared f16vec2 hh[64];
shared uint counts[NEG + 10];
void main() {
  uint i = gl_LocalInvocationIndex;
  tile[i % 16][i % 8] = vec4(float(i));
  hh[i % 64] = f16vec2(1.0);
  counts[i % 7] = i;
  barrier();
  if (i < u.n) y[i] = tile[i%16][0].x * u.scale + EPS + float(hh[i%64].x) + float(counts[i%7]) + (FLAG ? 1.0 : 0.0) + float(y.length());
}
