#version 450
// A subgroup matvec: push constants (id before every buffer), a workgroup
// size from a spec constant (local_size_x_id), a spec constant as a
// function constant, shared memory.
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_8bit_storage : require
layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 1) const uint ROWS_PER_GROUP = 4;
layout(set = 0, binding = 0) readonly buffer Q { int8_t q[]; };
layout(set = 0, binding = 1) readonly buffer S { float16_t scales[]; };
layout(set = 0, binding = 2) readonly buffer X { float x[]; };
layout(set = 0, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { uint rows; uint cols; } pc;
shared float partial[32];
void main() {
  uint r = gl_WorkGroupID.x * ROWS_PER_GROUP + gl_SubgroupID;
  float acc = 0;
  for (uint i = gl_SubgroupInvocationID; i < pc.cols; i += gl_SubgroupSize) acc += float(q[r*pc.cols+i]) * float(scales[(r*pc.cols+i)/32]) * x[i];
  acc = subgroupAdd(acc);
  if (gl_SubgroupInvocationID == 0) partial[gl_SubgroupID] = acc;
  barrier();
  if (gl_LocalInvocationID.x == 0 && r < pc.rows) y[r] = partial[0];
}
