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

constant uint LX_tmp [[function_constant(0)]];
constant uint LX = is_function_constant_defined(LX_tmp) ? LX_tmp : 64u;

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
constant bool _121 = (CAUSAL == 1u);

struct Tokens
{
    int tok[1];
};

#ifndef SPIRV_CROSS_CONSTANT_ID_3
#define SPIRV_CROSS_CONSTANT_ID_3 128u
#endif
constant uint HD = SPIRV_CROSS_CONSTANT_ID_3;

struct Q
{
    float q[1];
};

struct O
{
    float o[1];
};

constant uint _348_tmp [[function_constant(0)]];
constant uint _348 = is_function_constant_defined(_348_tmp) ? _348_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_348, 1u, 1u);

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

kernel void attention_rows_main(constant P& p [[buffer(5)]], const device Tokens& _128 [[buffer(0)]], const device Q& _174 [[buffer(1)]], const device K& v_40 [[buffer(2)]], const device V& v_68 [[buffer(3)]], device O& _336 [[buffer(4)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    uint h = gl_WorkGroupID.x;
    uint i = (gl_WorkGroupID.y * LX) + gl_LocalInvocationID.x;
    if (i >= p.rows)
    {
        return;
    }
    uint kvh = h / p.group;
    uint _122;
    if (_121)
    {
        _122 = (uint(_128.tok[0]) + i) + 1u;
    }
    else
    {
        _122 = p.kv_len;
    }
    uint n = _122;
    uint qb = ((i * p.q_stride) + p.q_off) + (h * p.head_dim);
    spvUnsafeArray<float, HD> qv;
    spvUnsafeArray<float, HD> acc;
    for (uint d = 0u; d < p.head_dim; d++)
    {
        qv[d] = _174.q[qb + d];
        acc[d] = 0.0;
    }
    float m = as_type<float>(0xff800000u /* -inf */);
    float l = 0.0;
    for (uint j = 0u; j < n; j++)
    {
        uint kb = ((j * p.kv_stride) + p.k_off) + (kvh * p.head_dim);
        float s = 0.0;
        for (uint d_1 = 0u; d_1 < p.head_dim; d_1++)
        {
            uint param = kb + d_1;
            s += (qv[d_1] * kval(param, v_40));
        }
        s *= p.scale;
        float mn = fast::max(m, s);
        float corr = exp(m - mn);
        float e = exp(s - mn);
        l = (l * corr) + e;
        uint vb = ((j * p.kv_stride) + p.v_off) + (kvh * p.head_dim);
        for (uint d_2 = 0u; d_2 < p.head_dim; d_2++)
        {
            uint param_1 = vb + d_2;
            acc[d_2] = (acc[d_2] * corr) + (e * vval(param_1, v_68));
        }
        m = mn;
    }
    uint ob = ((i * p.o_stride) + p.o_off) + (h * p.head_dim);
    for (uint d_3 = 0u; d_3 < p.head_dim; d_3++)
    {
        _336.o[ob + d_3] = acc[d_3] / l;
    }
}

