#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

struct Params
{
    uint n;
    uint stride;
};

struct Out
{
    float o[1];
};

struct Push
{
    uint offset;
    float alpha;
    float2 pad;
};

struct Weights
{
    float w[1];
};

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(16u, 4u, 1u);

kernel void main0(constant Params& params [[buffer(0)]], device Out& outBuf [[buffer(1)]], constant Push& pc [[buffer(2)]], const device Weights& device0 [[buffer(3)]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    uint i = gl_GlobalInvocationID.x + (gl_GlobalInvocationID.y * params.stride);
    if (i < params.n)
    {
        outBuf.o[i] = pc.alpha * device0.w[i + pc.offset];
    }
}

