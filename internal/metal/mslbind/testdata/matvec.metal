#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

constant uint _16_tmp [[function_constant(1)]];
constant uint _16 = is_function_constant_defined(_16_tmp) ? _16_tmp : 4u;

struct _34
{
    uint _m0;
    uint _m1;
};

struct _46
{
    char _m0[1];
};

struct _62
{
    half _m0[1];
};

struct _79
{
    float _m0[1];
};

struct _123
{
    float _m0[1];
};

constant uint _130_tmp [[function_constant(0)]];
constant uint _130 = is_function_constant_defined(_130_tmp) ? _130_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_130, 1u, 1u);

kernel void main0(constant _34& _36 [[buffer(0)]], const device _46& _48 [[buffer(1)]], const device _62& _64 [[buffer(2)]], const device _79& _81 [[buffer(3)]], device _123& _125 [[buffer(4)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint gl_SubgroupID [[simdgroup_index_in_threadgroup]], uint gl_SubgroupInvocationID [[thread_index_in_simdgroup]], uint gl_SubgroupSize [[thread_execution_width]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float _102[32];
    uint _20 = (gl_WorkGroupID.x * _16) + gl_SubgroupID;
    float _134;
    _134 = 0.0;
    for (uint _133 = gl_SubgroupInvocationID; _133 < _36._m1; )
    {
        uint _55 = (_20 * _36._m1) + _133;
        _134 = fma(float(_48._m0[_55]) * float(_64._m0[_55 / 32u]), _81._m0[_133], _134);
        _133 += gl_SubgroupSize;
        continue;
    }
    float _95 = simd_sum(_134);
    if (gl_SubgroupInvocationID == 0u)
    {
        _102[gl_SubgroupID] = _95;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    bool _112 = gl_LocalInvocationID.x == 0u;
    bool _119;
    if (_112)
    {
        _119 = _20 < _36._m0;
    }
    else
    {
        _119 = _112;
    }
    if (_119)
    {
        _125._m0[_20] = _102[0];
    }
}

