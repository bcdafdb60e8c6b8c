#pragma clang diagnostic ignored "-Wmissing-prototypes"

#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

constant uint LX_tmp [[function_constant(0)]];
constant uint LX = is_function_constant_defined(LX_tmp) ? LX_tmp : 64u;

struct P
{
    uint count;
};

struct X
{
    float x[1];
};

constant uint MODE_tmp [[function_constant(1)]];
constant uint MODE = is_function_constant_defined(MODE_tmp) ? MODE_tmp : 0u;
constant bool _162 = (MODE == 0u);

struct Up
{
    float up[1];
};

constant bool _182 = (MODE == 1u);
constant uint _218_tmp [[function_constant(0)]];
constant uint _218 = is_function_constant_defined(_218_tmp) ? _218_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_218, 1u, 1u);

static inline __attribute__((always_inline))
float erf_(thread const float& z)
{
    float a = abs(z);
    if (a < 0.5)
    {
        float z2 = z * z;
        return (1.12837922573089599609375 * z) * (1.0 + (z2 * ((-0.3333333432674407958984375) + (z2 * (0.100000001490116119384765625 + (z2 * ((-0.02380952425301074981689453125) + (z2 * (0.004629629664123058319091796875 + (z2 * ((-0.00075757573358714580535888671875) + (z2 * 0.00010683760774554684758186340332031))))))))))));
    }
    float t = 1.0 / (1.0 + (0.5 * a));
    float r = t * exp((((-a) * a) - 1.2655122280120849609375) + (t * (1.00002372264862060546875 + (t * (0.3740919530391693115234375 + (t * (0.096784181892871856689453125 + (t * ((-0.186288058757781982421875) + (t * (0.27886807918548583984375 + (t * ((-1.13520395755767822265625) + (t * (1.4885158538818359375 + (t * ((-0.82215225696563720703125) + (t * 0.17087276279926300048828125))))))))))))))))));
    float _109;
    if (z >= 0.0)
    {
        _109 = 1.0 - r;
    }
    else
    {
        _109 = r - 1.0;
    }
    return _109;
}

kernel void act_main(constant P& p [[buffer(2)]], device X& _156 [[buffer(0)]], const device Up& _175 [[buffer(1)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    uint i = ((gl_WorkGroupID.y * 65535u) * LX) + gl_GlobalInvocationID.x;
    if (i >= p.count)
    {
        return;
    }
    float v = _156.x[i];
    if (_162)
    {
        _156.x[i] = (v / (1.0 + exp(-v))) * _175.up[i];
    }
    else
    {
        if (_182)
        {
            float z = 0.79788458347320556640625 * (v + (((0.0447149984538555145263671875 * v) * v) * v));
            _156.x[i] = v / (1.0 + exp((-2.0) * z));
        }
        else
        {
            float param = v * 0.707106769084930419921875;
            _156.x[i] = (0.5 * v) * (1.0 + erf_(param));
        }
    }
}

