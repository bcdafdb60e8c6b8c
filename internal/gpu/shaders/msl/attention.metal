#pragma clang diagnostic ignored "-Wmissing-prototypes"
#pragma clang diagnostic ignored "-Wmissing-braces"

#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

template<typename T, size_t Num>
struct spvUnsafeArray
{
    T elements[Num ? Num : 1];
    
    thread T& operator [] (size_t pos) thread
    {
        return elements[pos];
    }
    constexpr const thread T& operator [] (size_t pos) const thread
    {
        return elements[pos];
    }
    
    device T& operator [] (size_t pos) device
    {
        return elements[pos];
    }
    constexpr const device T& operator [] (size_t pos) const device
    {
        return elements[pos];
    }
    
    constexpr const constant T& operator [] (size_t pos) const constant
    {
        return elements[pos];
    }
    
    threadgroup T& operator [] (size_t pos) threadgroup
    {
        return elements[pos];
    }
    constexpr const threadgroup T& operator [] (size_t pos) const threadgroup
    {
        return elements[pos];
    }
};

constant uint F16_tmp [[function_constant(2)]];
constant uint F16 = is_function_constant_defined(F16_tmp) ? F16_tmp : 0u;
constant bool _32 = (F16 == 1u);

struct K
{
    uint k[1];
};

constant bool _61 = (F16 == 1u);

struct V
{
    uint v[1];
};

struct P
{
    uint head_dim;
    uint group;
    uint kv_len;
    float scale;
    uint q_stride;
    uint q_off;
    uint kv_stride;
    uint k_off;
    uint v_off;
    uint o_stride;
    uint o_off;
    uint rows;
};

constant uint CAUSAL_tmp [[function_constant(1)]];
constant uint CAUSAL = is_function_constant_defined(CAUSAL_tmp) ? CAUSAL_tmp : 1u;
constant bool _111 = (CAUSAL == 1u);

struct Tokens
{
    int tok[1];
};

#ifndef SPIRV_CROSS_CONSTANT_ID_3
#define SPIRV_CROSS_CONSTANT_ID_3 4u
#endif
constant uint MAXD = SPIRV_CROSS_CONSTANT_ID_3;
#ifndef SPIRV_CROSS_CONSTANT_ID_0
#define SPIRV_CROSS_CONSTANT_ID_0 64u
#endif
constant uint LX = SPIRV_CROSS_CONSTANT_ID_0;
constant uint _144 = (MAXD * LX);

struct Q
{
    float q[1];
};

constant uint _267 = (LX / 2u);
constant uint _319 = (LX / 2u);

struct O
{
    float o[1];
};

constant uint _477_tmp [[function_constant(0)]];
constant uint _477 = is_function_constant_defined(_477_tmp) ? _477_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_477, 1u, 1u);

static inline __attribute__((always_inline))
float half2f(thread const uint& w, thread const uint& e)
{
    return float2(as_type<half2>(w))[e & 1u];
}

static inline __attribute__((always_inline))
float kval(thread const uint& e, const device K& v_40)
{
    float _34;
    if (_32)
    {
        uint param = v_40.k[e >> uint(1)];
        uint param_1 = e;
        _34 = half2f(param, param_1);
    }
    else
    {
        _34 = as_type<float>(v_40.k[e]);
    }
    return _34;
}

static inline __attribute__((always_inline))
float vval(thread const uint& e, const device V& v_68)
{
    float _62;
    if (_61)
    {
        uint param = v_68.v[e >> uint(1)];
        uint param_1 = e;
        _62 = half2f(param, param_1);
    }
    else
    {
        _62 = as_type<float>(v_68.v[e]);
    }
    return _62;
}

kernel void attention_main(constant P& p [[buffer(5)]], const device Tokens& _118 [[buffer(0)]], const device Q& _152 [[buffer(1)]], const device K& v_40 [[buffer(2)]], const device V& v_68 [[buffer(3)]], device O& _452 [[buffer(4)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]])
{
    threadgroup float qs[_144];
    threadgroup float red[LX];
    threadgroup float ps[LX];
    uint t = gl_LocalInvocationID.x;
    uint h = gl_WorkGroupID.x;
    uint i = gl_WorkGroupID.y;
    uint kvh = h / p.group;
    uint _112;
    if (_111)
    {
        _112 = (uint(_118.tok[0]) + i) + 1u;
    }
    else
    {
        _112 = p.kv_len;
    }
    uint n = _112;
    for (uint d = t; d < p.head_dim; d += LX)
    {
        qs[d] = _152.q[(((i * p.q_stride) + p.q_off) + (h * p.head_dim)) + d];
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float m = as_type<float>(0xff800000u /* -inf */);
    float l = 0.0;
    spvUnsafeArray<float, MAXD> acc;
    for (uint a = 0u; a < MAXD; a++)
    {
        acc[a] = 0.0;
    }
    float _302;
    for (uint c0 = 0u; c0 < n; c0 += LX)
    {
        uint key = c0 + t;
        float s = as_type<float>(0xff800000u /* -inf */);
        if (key < n)
        {
            uint kb = ((key * p.kv_stride) + p.k_off) + (kvh * p.head_dim);
            s = 0.0;
            for (uint d_1 = 0u; d_1 < p.head_dim; d_1++)
            {
                uint param = kb + d_1;
                s += (qs[d_1] * kval(param, v_40));
            }
            s *= p.scale;
        }
        red[t] = s;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint st = _267; st > 0u; st = st >> uint(1))
        {
            if (t < st)
            {
                red[t] = fast::max(red[t], red[t + st]);
            }
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        float mn = fast::max(m, red[0]);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        if (key < n)
        {
            _302 = exp(s - mn);
        }
        else
        {
            _302 = 0.0;
        }
        float e = _302;
        ps[t] = e;
        red[t] = e;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint st_1 = _319; st_1 > 0u; st_1 = st_1 >> uint(1))
        {
            if (t < st_1)
            {
                red[t] += red[t + st_1];
            }
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        float corr = exp(m - mn);
        l = (l * corr) + red[0];
        m = mn;
        uint cn = min(LX, (n - c0));
        for (uint a_1 = 0u; a_1 < MAXD; a_1++)
        {
            uint d_2 = t + (a_1 * LX);
            if (d_2 < p.head_dim)
            {
                float sum = 0.0;
                for (uint j = 0u; j < cn; j++)
                {
                    uint param_1 = ((((c0 + j) * p.kv_stride) + p.v_off) + (kvh * p.head_dim)) + d_2;
                    sum += (ps[j] * vval(param_1, v_68));
                }
                acc[a_1] = (acc[a_1] * corr) + sum;
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    for (uint a_2 = 0u; a_2 < MAXD; a_2++)
    {
        uint d_3 = t + (a_2 * LX);
        if (d_3 < p.head_dim)
        {
            _452.o[((p.o_off + (i * p.o_stride)) + (h * p.head_dim)) + d_3] = acc[a_2] / l;
        }
    }
}

