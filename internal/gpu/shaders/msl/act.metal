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
constant bool _125 = (MODE == 0u);

struct Up
{
    float up[1];
};

constant bool _145 = (MODE == 1u);
constant uint _181_tmp [[function_constant(0)]];
constant uint _181 = is_function_constant_defined(_181_tmp) ? _181_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_181, 1u, 1u);

static inline __attribute__((always_inline))
float erf_(thread const float& z)
{
    float a = abs(z);
    float t = 1.0 / (1.0 + (0.5 * a));
    float r = t * exp((((-a) * a) - 1.2655122280120849609375) + (t * (1.00002372264862060546875 + (t * (0.3740919530391693115234375 + (t * (0.096784181892871856689453125 + (t * ((-0.186288058757781982421875) + (t * (0.27886807918548583984375 + (t * ((-1.13520395755767822265625) + (t * (1.4885158538818359375 + (t * ((-0.82215225696563720703125) + (t * 0.17087276279926300048828125))))))))))))))))));
    float _72;
    if (z >= 0.0)
    {
        _72 = 1.0 - r;
    }
    else
    {
        _72 = r - 1.0;
    }
    return _72;
}

kernel void act_main(constant P& p [[buffer(2)]], device X& _119 [[buffer(0)]], const device Up& _138 [[buffer(1)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    uint i = ((gl_WorkGroupID.y * 65535u) * LX) + gl_GlobalInvocationID.x;
    if (i >= p.count)
    {
        return;
    }
    float v = _119.x[i];
    if (_125)
    {
        _119.x[i] = (v / (1.0 + exp(-v))) * _138.up[i];
    }
    else
    {
        if (_145)
        {
            float z = 0.79788458347320556640625 * (v + (((0.0447149984538555145263671875 * v) * v) * v));
            _119.x[i] = v / (1.0 + exp((-2.0) * z));
        }
        else
        {
            float param = v * 0.707106769084930419921875;
            _119.x[i] = (0.5 * v) * (1.0 + erf_(param));
        }
    }
}

