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

#ifndef SPIRV_CROSS_CONSTANT_ID_2
#define SPIRV_CROSS_CONSTANT_ID_2 2u
#endif
constant uint ROWS = SPIRV_CROSS_CONSTANT_ID_2;
#ifndef SPIRV_CROSS_CONSTANT_ID_3
#define SPIRV_CROSS_CONSTANT_ID_3 1u
#endif
constant uint TN = SPIRV_CROSS_CONSTANT_ID_3;

struct P
{
    uint rows;
    uint cols;
    uint n;
    uint x_off;
    uint y_off;
    uint y_stride;
    uint flags;
};

constant uint _93 = (ROWS * TN);
constant uint _95 = (ROWS * TN);
constant uint FORMAT_tmp [[function_constant(1)]];
constant uint FORMAT = is_function_constant_defined(FORMAT_tmp) ? FORMAT_tmp : 0u;
constant bool _160 = (FORMAT == 0u);

struct Wq
{
    uint wq[1];
};

struct X
{
    float x[1];
};

struct Ws
{
    uint ws[1];
};

#ifndef SPIRV_CROSS_CONSTANT_ID_0
#define SPIRV_CROSS_CONSTANT_ID_0 64u
#endif
constant uint LX = SPIRV_CROSS_CONSTANT_ID_0;
constant uint _477 = (ROWS * TN);
constant uint _479 = (ROWS * TN);
constant uint _480 = (_479 * LX);
constant uint _497 = (LX / 2u);
constant uint _517 = (ROWS * TN);
constant uint _540 = (ROWS * TN);

struct Bias
{
    float bias0[1];
};

struct Y
{
    float y[1];
};

constant uint _622_tmp [[function_constant(0)]];
constant uint _622 = is_function_constant_defined(_622_tmp) ? _622_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_622, 1u, 1u);

static inline __attribute__((always_inline))
int sbyte(thread const uint& w, thread const uint& k)
{
    return extract_bits(int(w), uint(int(8u * k)), uint(8));
}

static inline __attribute__((always_inline))
float half2f(thread const uint& w, thread const uint& e)
{
    return float2(as_type<half2>(w))[e & 1u];
}

kernel void matmul_main(constant P& p [[buffer(5)]], const device Wq& _192 [[buffer(0)]], const device Ws& _351 [[buffer(1)]], const device X& _245 [[buffer(2)]], device Y& _613 [[buffer(3)]], const device Bias& _584 [[buffer(4)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]])
{
    threadgroup float red[_480];
    uint t = gl_LocalInvocationID.x;
    uint r0 = ((gl_WorkGroupID.z * gl_NumWorkGroups.x) + gl_WorkGroupID.x) * ROWS;
    uint j0 = gl_WorkGroupID.y * TN;
    uint bpr = (p.cols + 31u) / 32u;
    bool aligned = (p.cols & 3u) == 0u;
    spvUnsafeArray<float, _95> part;
    for (uint k = 0u; k < _93; k++)
    {
        part[k] = 0.0;
    }
    spvUnsafeArray<float, TN> acc;
    for (uint rr = 0u; rr < ROWS; rr++)
    {
        uint r = r0 + rr;
        if (r >= p.rows)
        {
            break;
        }
        for (uint b = t; b < bpr; b += LX)
        {
            uint c0 = b * 32u;
            uint c1 = min((c0 + 32u), p.cols);
            for (uint j = 0u; j < TN; j++)
            {
                acc[j] = 0.0;
            }
            if (_160)
            {
                uint e0 = (r * p.cols) + c0;
                bool _177;
                if (aligned)
                {
                    _177 = (c1 - c0) == 32u;
                }
                else
                {
                    _177 = aligned;
                }
                if (_177)
                {
                    for (uint q = 0u; q < 8u; q++)
                    {
                        uint w = _192.wq[(e0 >> uint(2)) + q];
                        for (uint k_1 = 0u; k_1 < 4u; k_1++)
                        {
                            uint param = w;
                            uint param_1 = k_1;
                            float wv = float(sbyte(param, param_1));
                            uint c = (c0 + (q * 4u)) + k_1;
                            for (uint j_1 = 0u; j_1 < TN; j_1++)
                            {
                                if ((j0 + j_1) < p.n)
                                {
                                    acc[j_1] += (wv * _245.x[(p.x_off + ((j0 + j_1) * p.cols)) + c]);
                                }
                            }
                        }
                    }
                }
                else
                {
                    for (uint c_1 = c0; c_1 < c1; c_1++)
                    {
                        uint e = (r * p.cols) + c_1;
                        uint param_2 = _192.wq[e >> uint(2)];
                        uint param_3 = e & 3u;
                        float wv_1 = float(sbyte(param_2, param_3));
                        for (uint j_2 = 0u; j_2 < TN; j_2++)
                        {
                            if ((j0 + j_2) < p.n)
                            {
                                acc[j_2] += (wv_1 * _245.x[(p.x_off + ((j0 + j_2) * p.cols)) + c_1]);
                            }
                        }
                    }
                }
                uint se = (r * bpr) + b;
                uint param_4 = _351.ws[se >> uint(1)];
                uint param_5 = se;
                float s = half2f(param_4, param_5);
                for (uint j_3 = 0u; j_3 < TN; j_3++)
                {
                    uint _371 = (rr * TN) + j_3;
                    part[_371] += (acc[j_3] * s);
                }
            }
            else
            {
                for (uint c_2 = c0; c_2 < c1; c_2++)
                {
                    float wv_2 = as_type<float>(_192.wq[(r * p.cols) + c_2]);
                    for (uint j_4 = 0u; j_4 < TN; j_4++)
                    {
                        if ((j0 + j_4) < p.n)
                        {
                            acc[j_4] += (wv_2 * _245.x[(p.x_off + ((j0 + j_4) * p.cols)) + c_2]);
                        }
                    }
                }
                for (uint j_5 = 0u; j_5 < TN; j_5++)
                {
                    uint _455 = (rr * TN) + j_5;
                    part[_455] += acc[j_5];
                }
            }
        }
    }
    for (uint k_2 = 0u; k_2 < _477; k_2++)
    {
        red[(k_2 * LX) + t] = part[k_2];
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s_1 = _497; s_1 > 0u; s_1 = s_1 >> uint(1))
    {
        if (t < s_1)
        {
            for (uint k_3 = 0u; k_3 < _517; k_3++)
            {
                uint _522 = (k_3 * LX) + t;
                red[_522] += red[((k_3 * LX) + t) + s_1];
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (t < _540)
    {
        uint rr_1 = t / TN;
        uint j_6 = t % TN;
        uint r_1 = r0 + rr_1;
        bool _557 = r_1 < p.rows;
        bool _566;
        if (_557)
        {
            _566 = (j0 + j_6) < p.n;
        }
        else
        {
            _566 = _557;
        }
        if (_566)
        {
            float v = red[t * LX];
            if ((p.flags & 2u) != 0u)
            {
                v += _584.bias0[r_1];
            }
            uint o = (p.y_off + ((j0 + j_6) * p.y_stride)) + r_1;
            if ((p.flags & 1u) != 0u)
            {
                v += _613.y[o];
            }
            _613.y[o] = v;
        }
    }
}

