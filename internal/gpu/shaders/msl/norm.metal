#pragma clang diagnostic ignored "-Wmissing-prototypes"

#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

#ifndef SPIRV_CROSS_CONSTANT_ID_0
#define SPIRV_CROSS_CONSTANT_ID_0 64u
#endif
constant uint LX = SPIRV_CROSS_CONSTANT_ID_0;
constant uint _31 = (LX / 2u);

struct P
{
    uint d;
    float eps;
    uint x_off;
    uint y_off;
};

constant uint MODE_tmp [[function_constant(1)]];
constant uint MODE = is_function_constant_defined(MODE_tmp) ? MODE_tmp : 0u;
constant bool _101 = (MODE == 1u);

struct X
{
    float x[1];
};

struct Y
{
    float y[1];
};

constant bool _205 = (MODE == 1u);

struct W
{
    float w[1];
};

struct B
{
    float b[1];
};

constant uint _236_tmp [[function_constant(0)]];
constant uint _236 = is_function_constant_defined(_236_tmp) ? _236_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_236, 1u, 1u);

static inline __attribute__((always_inline))
float total(thread const float& v, threadgroup float (&red)[LX], thread uint3& gl_LocalInvocationID)
{
    red[gl_LocalInvocationID.x] = v;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = _31; s > 0u; s = s >> uint(1))
    {
        if (gl_LocalInvocationID.x < s)
        {
            red[gl_LocalInvocationID.x] += red[gl_LocalInvocationID.x + s];
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    float t = red[0];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    return t;
}

kernel void norm_main(constant P& p [[buffer(4)]], const device X& _119 [[buffer(0)]], device Y& _201 [[buffer(1)]], const device W& _213 [[buffer(2)]], const device B& _221 [[buffer(3)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]])
{
    threadgroup float red[LX];
    uint t = gl_LocalInvocationID.x;
    uint xo = p.x_off + (gl_WorkGroupID.x * p.d);
    uint yo = p.y_off + (gl_WorkGroupID.x * p.d);
    float mean = 0.0;
    if (_101)
    {
        float s = 0.0;
        for (uint j = t; j < p.d; j += LX)
        {
            s += _119.x[xo + j];
        }
        float param = s;
        float _132 = total(param, red, gl_LocalInvocationID);
        mean = _132 / float(p.d);
    }
    float ss = 0.0;
    for (uint j_1 = t; j_1 < p.d; j_1 += LX)
    {
        float v = _119.x[xo + j_1] - mean;
        ss += (v * v);
    }
    float param_1 = ss;
    float _167 = total(param_1, red, gl_LocalInvocationID);
    float inv = rsqrt((_167 / float(p.d)) + p.eps);
    float _206;
    for (uint j_2 = t; j_2 < p.d; j_2 += LX)
    {
        float v_1 = (_119.x[xo + j_2] - mean) * inv;
        if (_205)
        {
            _206 = (v_1 * _213.w[j_2]) + _221.b[j_2];
        }
        else
        {
            _206 = _213.w[j_2] * v_1;
        }
        _201.y[yo + j_2] = _206;
    }
}

