#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

struct P
{
    uint head_dim;
    uint row_stride;
    uint x_off;
    float eps;
    float scale;
    uint rot_off;
};

struct X
{
    float x[1];
};

#ifndef SPIRV_CROSS_CONSTANT_ID_0
#define SPIRV_CROSS_CONSTANT_ID_0 64u
#endif
constant uint LX = SPIRV_CROSS_CONSTANT_ID_0;
constant uint NORM_tmp [[function_constant(1)]];
constant uint NORM = is_function_constant_defined(NORM_tmp) ? NORM_tmp : 1u;
constant bool _85 = (NORM == 1u);
constant uint _120 = (LX / 2u);
constant bool _157 = (NORM == 1u);

struct W
{
    float w[1];
};

struct Rot
{
    float rot[1];
};

constant uint _268_tmp [[function_constant(0)]];
constant uint _268 = is_function_constant_defined(_268_tmp) ? _268_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_268, 1u, 1u);

kernel void rope_main(constant P& p [[buffer(3)]], device X& _72 [[buffer(0)]], const device W& _175 [[buffer(1)]], const device Rot& _211 [[buffer(2)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]])
{
    threadgroup float v[512];
    threadgroup float red[LX];
    uint t = gl_LocalInvocationID.x;
    uint i = gl_WorkGroupID.y;
    uint base = ((i * p.row_stride) + p.x_off) + (gl_WorkGroupID.x * p.head_dim);
    uint half_ = p.head_dim / 2u;
    float inv = 1.0;
    for (uint j = t; j < p.head_dim; j += LX)
    {
        v[j] = _72.x[base + j];
    }
    if (_85)
    {
        float ss = 0.0;
        for (uint j_1 = t; j_1 < p.head_dim; j_1 += LX)
        {
            ss += (v[j_1] * v[j_1]);
        }
        red[t] = ss;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint s = _120; s > 0u; s = s >> uint(1))
        {
            if (t < s)
            {
                red[t] += red[t + s];
            }
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        inv = rsqrt((red[0] / float(p.head_dim)) + p.eps);
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (_157)
    {
        for (uint j_2 = t; j_2 < p.head_dim; j_2 += LX)
        {
            v[j_2] = _175.w[j_2] * (v[j_2] * inv);
        }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint r = p.rot_off + ((i * 2u) * half_);
    for (uint j_3 = t; j_3 < half_; j_3 += LX)
    {
        float c = _211.rot[r + j_3];
        float s_1 = _211.rot[(r + half_) + j_3];
        float a = v[j_3];
        float b = v[j_3 + half_];
        _72.x[base + j_3] = ((a * c) - (b * s_1)) * p.scale;
        _72.x[(base + j_3) + half_] = ((b * c) + (a * s_1)) * p.scale;
    }
}

