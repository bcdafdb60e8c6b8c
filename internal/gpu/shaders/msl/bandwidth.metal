#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

struct P
{
    uint count;
    uint per_group;
};

struct Src
{
    uint4 src[1];
};

constant uint LX_tmp [[function_constant(0)]];
constant uint LX = is_function_constant_defined(LX_tmp) ? LX_tmp : 64u;

struct Out
{
    uint res[1];
};

constant uint _92_tmp [[function_constant(0)]];
constant uint _92 = is_function_constant_defined(_92_tmp) ? _92_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_92, 1u, 1u);

kernel void bandwidth_main(constant P& p [[buffer(2)]], const device Src& _58 [[buffer(0)]], device Out& _84 [[buffer(1)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]])
{
    uint t = gl_LocalInvocationID.x;
    uint lo = gl_WorkGroupID.x * p.per_group;
    uint hi = min((lo + p.per_group), p.count);
    uint4 s = uint4(0u);
    uint _45 = lo + t;
    for (uint i = _45; i < hi; i += LX)
    {
        s ^= _58.src[i];
    }
    bool _71 = s.x == 2654435769u;
    bool _78;
    if (_71)
    {
        _78 = s.y == 0u;
    }
    else
    {
        _78 = _71;
    }
    if (_78)
    {
        _84.res[gl_WorkGroupID.x] = s.z;
    }
}

