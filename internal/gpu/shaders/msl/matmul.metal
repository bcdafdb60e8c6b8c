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

struct Bias
{
    float bias0[1];
};

struct Y
{
    float y[1];
};

constant uint LANES_tmp [[function_constant(2)]];
constant uint LANES = is_function_constant_defined(LANES_tmp) ? LANES_tmp : 32u;
#ifndef SPIRV_CROSS_CONSTANT_ID_0
#define SPIRV_CROSS_CONSTANT_ID_0 64u
#endif
constant uint LX = SPIRV_CROSS_CONSTANT_ID_0;
constant uint ROWS = (LX / LANES);
#ifndef SPIRV_CROSS_CONSTANT_ID_3
#define SPIRV_CROSS_CONSTANT_ID_3 1u
#endif
constant uint TN = SPIRV_CROSS_CONSTANT_ID_3;
constant uint FORMAT_tmp [[function_constant(1)]];
constant uint FORMAT = is_function_constant_defined(FORMAT_tmp) ? FORMAT_tmp : 0u;
constant bool _220 = (FORMAT == 0u);

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

constant bool _501 = (LANES == 1u);
constant uint _541 = (TN * LX);
constant uint _558 = (LANES / 2u);
constant uint _632_tmp [[function_constant(0)]];
constant uint _632 = is_function_constant_defined(_632_tmp) ? _632_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_632, 1u, 1u);

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

static inline __attribute__((always_inline))
void store(thread const uint& r, thread const uint& j, thread float& v, constant P& p, const device Bias& v_63, device Y& v_92)
{
    if ((p.flags & 2u) != 0u)
    {
        v += v_63.bias0[r];
    }
    uint o = (p.y_off + (j * p.y_stride)) + r;
    if ((p.flags & 1u) != 0u)
    {
        v += v_92.y[o];
    }
    v_92.y[o] = v;
}

kernel void matmul_main(constant P& p [[buffer(5)]], const device Wq& _252 [[buffer(0)]], const device Ws& _398 [[buffer(1)]], const device X& _306 [[buffer(2)]], device Y& v_92 [[buffer(3)]], const device Bias& v_63 [[buffer(4)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]])
{
    threadgroup float red[_541];
    uint t = gl_LocalInvocationID.x;
    uint lane = t % LANES;
    uint groups = ((p.rows + ROWS) - 1u) / ROWS;
    spvUnsafeArray<float, TN> part;
    spvUnsafeArray<float, TN> acc;
    for (uint g = gl_WorkGroupID.x; g < groups; g += gl_NumWorkGroups.x)
    {
        uint r = (g * ROWS) + (t / LANES);
        uint j0 = gl_WorkGroupID.y * TN;
        uint tn = min(TN, (p.n - j0));
        uint bpr = (p.cols + 31u) / 32u;
        bool aligned = (p.cols & 3u) == 0u;
        for (uint j = 0u; j < TN; j++)
        {
            part[j] = 0.0;
        }
        if (r < p.rows)
        {
            for (uint b = lane; b < bpr; b += LANES)
            {
                uint c0 = b * 32u;
                uint c1 = min((c0 + 32u), p.cols);
                for (uint j_1 = 0u; j_1 < TN; j_1++)
                {
                    acc[j_1] = 0.0;
                }
                if (_220)
                {
                    uint e0 = (r * p.cols) + c0;
                    bool _237;
                    if (aligned)
                    {
                        _237 = (c1 - c0) == 32u;
                    }
                    else
                    {
                        _237 = aligned;
                    }
                    if (_237)
                    {
                        for (uint q = 0u; q < 8u; q++)
                        {
                            uint w = _252.wq[(e0 >> uint(2)) + q];
                            for (uint k = 0u; k < 4u; k++)
                            {
                                uint param = w;
                                uint param_1 = k;
                                float wv = float(sbyte(param, param_1));
                                uint c = (((p.x_off + (j0 * p.cols)) + c0) + (q * 4u)) + k;
                                for (uint j_2 = 0u; j_2 < tn; j_2++)
                                {
                                    acc[j_2] += (wv * _306.x[c + (j_2 * p.cols)]);
                                }
                            }
                        }
                    }
                    else
                    {
                        for (uint c_1 = c0; c_1 < c1; c_1++)
                        {
                            uint e = (r * p.cols) + c_1;
                            uint param_2 = _252.wq[e >> uint(2)];
                            uint param_3 = e & 3u;
                            float wv_1 = float(sbyte(param_2, param_3));
                            for (uint j_3 = 0u; j_3 < tn; j_3++)
                            {
                                acc[j_3] += (wv_1 * _306.x[(p.x_off + ((j0 + j_3) * p.cols)) + c_1]);
                            }
                        }
                    }
                    uint se = (r * bpr) + b;
                    uint param_4 = _398.ws[se >> uint(1)];
                    uint param_5 = se;
                    float s = half2f(param_4, param_5);
                    for (uint j_4 = 0u; j_4 < TN; j_4++)
                    {
                        part[j_4] += (acc[j_4] * s);
                    }
                }
                else
                {
                    for (uint c_2 = c0; c_2 < c1; c_2++)
                    {
                        float wv_2 = as_type<float>(_252.wq[(r * p.cols) + c_2]);
                        for (uint j_5 = 0u; j_5 < tn; j_5++)
                        {
                            acc[j_5] += (wv_2 * _306.x[(p.x_off + ((j0 + j_5) * p.cols)) + c_2]);
                        }
                    }
                    for (uint j_6 = 0u; j_6 < TN; j_6++)
                    {
                        part[j_6] += acc[j_6];
                    }
                }
            }
        }
        if (_501)
        {
            if (r < p.rows)
            {
                for (uint j_7 = 0u; j_7 < tn; j_7++)
                {
                    uint param_6 = r;
                    uint param_7 = j0 + j_7;
                    float param_8 = part[j_7];
                    store(param_6, param_7, param_8, p, v_63, v_92);
                }
            }
            continue;
        }
        for (uint j_8 = 0u; j_8 < TN; j_8++)
        {
            red[(j_8 * LX) + t] = part[j_8];
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint s_1 = _558; s_1 > 0u; s_1 = s_1 >> uint(1))
        {
            if (lane < s_1)
            {
                for (uint j_9 = 0u; j_9 < TN; j_9++)
                {
                    uint _582 = (j_9 * LX) + t;
                    red[_582] += red[((j_9 * LX) + t) + s_1];
                }
            }
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        bool _601 = lane < tn;
        bool _608;
        if (_601)
        {
            _608 = r < p.rows;
        }
        else
        {
            _608 = _601;
        }
        if (_608)
        {
            uint param_9 = r;
            uint param_10 = j0 + lane;
            float param_11 = red[((lane * LX) + t) - lane];
            store(param_9, param_10, param_11, p, v_63, v_92);
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
}

