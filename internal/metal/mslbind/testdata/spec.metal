#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

#ifndef SPIRV_CROSS_CONSTANT_ID_1
#define SPIRV_CROSS_CONSTANT_ID_1 4
#endif
constant int _19 = SPIRV_CROSS_CONSTANT_ID_1;
constant uint _20 = (uint(_19) + 0u);

struct _60
{
    uint _m0;
};

struct _71
{
    float _m0[1];
};

struct _83
{
    float _m0[1];
};

constant float _90_tmp [[function_constant(2)]];
constant float _90 = is_function_constant_defined(_90_tmp) ? _90_tmp : 1.0;
constant uint _99_tmp [[function_constant(0)]];
constant uint _99 = is_function_constant_defined(_99_tmp) ? _99_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_99, 1u, 1u);

kernel void main0(constant uint* spvBufferSizeConstants [[buffer(25)]], constant _60& _62 [[buffer(0)]], device _71& _73 [[buffer(1)]], const device _83& _85 [[buffer(2)]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]], uint gl_LocalInvocationIndex [[thread_index_in_threadgroup]])
{
    threadgroup float _28[_19];
    constant uint& _73BufferSize = spvBufferSizeConstants[1];
    if (gl_LocalInvocationIndex < _20)
    {
        _28[gl_LocalInvocationIndex] = float(gl_LocalInvocationIndex + 1u);
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float _103;
    _103 = 0.0;
    for (int _101 = 0; _101 < _19; )
    {
        _103 += _28[_101];
        _101++;
        continue;
    }
    bool _66 = gl_GlobalInvocationID.x < _62._m0;
    bool _78;
    if (_66)
    {
        _78 = gl_GlobalInvocationID.x < uint(int((_73BufferSize - 0) / 4));
    }
    else
    {
        _78 = _66;
    }
    if (_78)
    {
        _73._m0[gl_GlobalInvocationID.x] = fma(_85._m0[gl_GlobalInvocationID.x], _90, _103) + float(int((_73BufferSize - 0) / 4));
    }
}

