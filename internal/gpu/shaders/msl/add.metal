#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

constant uint MODE_tmp [[function_constant(1)]];
constant uint MODE = is_function_constant_defined(MODE_tmp) ? MODE_tmp : 0u;
constant bool _10 = (MODE != 1u);
constant uint LX_tmp [[function_constant(0)]];
constant uint LX = is_function_constant_defined(LX_tmp) ? LX_tmp : 64u;

struct P
{
    uint count;
    uint x_off;
    uint y_off;
    uint vocab;
    uint image_stride;
};

constant bool _43 = (MODE == 0u);

struct Y
{
    float y[1];
};

struct X
{
    float x[1];
};

struct Tokens
{
    int tok[1];
};

constant uint _148_tmp [[function_constant(0)]];
constant uint _148 = is_function_constant_defined(_148_tmp) ? _148_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_148, 1u, 1u);

kernel void add_main(constant P& p [[buffer(3)]], const device Tokens& _96 [[buffer(0)]], const device X& _59 [[buffer(1)]], device Y& _50 [[buffer(2)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    if (_10)
    {
        uint d = ((gl_WorkGroupID.y * 65535u) * LX) + gl_GlobalInvocationID.x;
        if (d >= p.count)
        {
            return;
        }
        if (_43)
        {
            uint _55 = p.y_off + d;
            _50.y[_55] += _59.x[p.x_off + d];
        }
        else
        {
            _50.y[p.y_off + d] = _59.x[p.x_off + d];
        }
        return;
    }
    uint d_1 = gl_GlobalInvocationID.x;
    uint i = gl_WorkGroupID.y;
    int id = _96.tok[1u + i];
    bool _105 = d_1 >= p.count;
    bool _115;
    if (!_105)
    {
        _115 = uint(id) < p.vocab;
    }
    else
    {
        _115 = _105;
    }
    if (_115)
    {
        return;
    }
    uint _127 = (p.y_off + (i * p.count)) + d_1;
    _50.y[_127] += _59.x[(((uint(id) - p.vocab) * p.image_stride) + p.x_off) + d_1];
}

