#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

struct _18
{
    float _m0[1];
};

struct _25
{
    float _m0[1];
};

struct _33
{
    float _m0[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(64u, 1u, 1u);

kernel void main0(device _18& _20 [[buffer(0)]], const device _33& _35 [[buffer(1)]], const device _25& _27 [[buffer(2)]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    _20._m0[gl_GlobalInvocationID.x] = _27._m0[gl_GlobalInvocationID.x] + _35._m0[gl_GlobalInvocationID.x];
}

