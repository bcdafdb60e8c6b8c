#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

#ifndef SPIRV_CROSS_CONSTANT_ID_0
#define SPIRV_CROSS_CONSTANT_ID_0 -3
#endif
constant int _42 = SPIRV_CROSS_CONSTANT_ID_0;
constant int _44 = (_42 + 10);

struct _57
{
    uint _m0;
    float _m1;
};

struct _69
{
    float _m0[1];
};

constant float _84_tmp [[function_constant(1)]];
constant float _84 = is_function_constant_defined(_84_tmp) ? _84_tmp : 9.9999999747524270787835121154785e-07;
constant bool _99_tmp [[function_constant(2)]];
constant bool _99 = is_function_constant_defined(_99_tmp) ? _99_tmp : true;
constant float _102 = float(_99);
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(128u, 1u, 1u);

kernel void main0(constant uint* spvBufferSizeConstants [[buffer(25)]], constant _57& _59 [[buffer(0)]], device _69& _71 [[buffer(1)]], uint gl_LocalInvocationIndex [[thread_index_in_threadgroup]])
{
    threadgroup float4 _19[16][8];
    threadgroup half2 _34[64];
    threadgroup uint _47[_44];
    constant uint& _71BufferSize = spvBufferSizeConstants[1];
    uint _21 = gl_LocalInvocationIndex % 16u;
    _19[_21][gl_LocalInvocationIndex % 8u] = float4(float(gl_LocalInvocationIndex));
    uint _36 = gl_LocalInvocationIndex % 64u;
    _34[_36] = half2(half(1.0));
    uint _50 = gl_LocalInvocationIndex % 7u;
    _47[_50] = gl_LocalInvocationIndex;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (gl_LocalInvocationIndex < _59._m0)
    {
        _71._m0[gl_LocalInvocationIndex] = (((fma(((threadgroup float*)&_19[_21][0])[0u], _59._m1, _84) + float(((threadgroup half*)&_34[_36])[0u])) + float(_47[_50])) + _102) + float(int((_71BufferSize - 0) / 4));
    }
}

