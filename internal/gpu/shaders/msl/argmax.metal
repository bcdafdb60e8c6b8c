#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

struct P
{
    uint count;
    uint x_off;
};

struct X
{
    float x[1];
};

#ifndef SPIRV_CROSS_CONSTANT_ID_0
#define SPIRV_CROSS_CONSTANT_ID_0 64u
#endif
constant uint LX = SPIRV_CROSS_CONSTANT_ID_0;
constant uint _100 = (LX / 2u);

struct Out
{
    int res[1];
};

constant uint _198_tmp [[function_constant(0)]];
constant uint _198 = is_function_constant_defined(_198_tmp) ? _198_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_198, 1u, 1u);

kernel void argmax_main(constant P& p [[buffer(2)]], const device X& _45 [[buffer(0)]], device Out& _187 [[buffer(1)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float bv[LX];
    threadgroup uint bi[LX];
    threadgroup uint bad[LX];
    uint t = gl_LocalInvocationID.x;
    float best = as_type<float>(0xff800000u /* -inf */);
    uint bidx = 4294967295u;
    uint nonfinite = 0u;
    for (uint i = t; i < p.count; i += LX)
    {
        float v = _45.x[p.x_off + i];
        bool _55 = isnan(v);
        bool _61;
        if (!_55)
        {
            _61 = isinf(v);
        }
        else
        {
            _61 = _55;
        }
        if (_61)
        {
            nonfinite = 1u;
            continue;
        }
        if ((bidx == 4294967295u) || (v > best))
        {
            best = v;
            bidx = i;
        }
    }
    bv[t] = best;
    bi[t] = bidx;
    bad[t] = nonfinite;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = _100; s > 0u; s = s >> uint(1))
    {
        if (t < s)
        {
            float ov = bv[t + s];
            uint oi = bi[t + s];
            bool _126 = oi != 4294967295u;
            bool _159;
            if (_126)
            {
                bool _132 = bi[t] == 4294967295u;
                bool _141;
                if (!_132)
                {
                    _141 = ov > bv[t];
                }
                else
                {
                    _141 = _132;
                }
                bool _158;
                if (!_141)
                {
                    bool _149 = ov == bv[t];
                    bool _157;
                    if (_149)
                    {
                        _157 = oi < bi[t];
                    }
                    else
                    {
                        _157 = _149;
                    }
                    _158 = _157;
                }
                else
                {
                    _158 = _141;
                }
                _159 = _158;
            }
            else
            {
                _159 = _126;
            }
            if (_159)
            {
                bv[t] = ov;
                bi[t] = oi;
            }
            bad[t] |= bad[t + s];
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (t == 0u)
    {
        _187.res[0] = int(bi[0]);
        _187.res[1] = int(bad[0] == 0u);
    }
}

