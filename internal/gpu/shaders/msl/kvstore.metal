#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

struct Tokens
{
    int tok[1];
};

constant uint F16_tmp [[function_constant(1)]];
constant uint F16 = is_function_constant_defined(F16_tmp) ? F16_tmp : 0u;
constant bool _36 = (F16 == 0u);

struct P
{
    uint kv_dim;
    uint cache_off;
    uint src_off;
};

struct Cache
{
    uint cache[1];
};

struct Src
{
    float src[1];
};

constant uint _135_tmp [[function_constant(0)]];
constant uint _135 = is_function_constant_defined(_135_tmp) ? _135_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_135, 1u, 1u);
constant uint LX_tmp [[function_constant(0)]];
constant uint LX = is_function_constant_defined(LX_tmp) ? LX_tmp : 64u;

kernel void kvstore_main(const device Tokens& _26 [[buffer(0)]], constant P& p [[buffer(3)]], const device Src& _67 [[buffer(1)]], device Cache& _52 [[buffer(2)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    uint i = gl_WorkGroupID.y;
    uint d = gl_GlobalInvocationID.x;
    uint row = uint(_26.tok[0]) + i;
    if (_36)
    {
        if (d < p.kv_dim)
        {
            _52.cache[(p.cache_off + (row * p.kv_dim)) + d] = as_type<uint>(_67.src[(p.src_off + (i * p.kv_dim)) + d]);
        }
    }
    else
    {
        uint e = d * 2u;
        if (e < p.kv_dim)
        {
            float2 v = float2(_67.src[(p.src_off + (i * p.kv_dim)) + e], _67.src[((p.src_off + (i * p.kv_dim)) + e) + 1u]);
            _52.cache[((p.cache_off + (row * p.kv_dim)) + e) >> uint(1)] = as_type<uint>(half2(v));
        }
    }
}

