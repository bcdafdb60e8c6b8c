#pragma clang diagnostic ignored "-Wmissing-prototypes"

#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

struct P
{
    uint hidden;
    uint vocab;
    uint image_stride;
    uint row0;
    uint rows;
    uint images;
    uint x_off;
};

struct Tokens
{
    int tok[1];
};

constant uint TABLE_tmp [[function_constant(1)]];
constant uint TABLE = is_function_constant_defined(TABLE_tmp) ? TABLE_tmp : 0u;
constant bool _102 = (TABLE == 0u);

struct Table
{
    uint table[1];
};

constant bool _117 = (TABLE == 1u);

struct Images
{
    float images[1];
};

struct X
{
    float x[1];
};

constant uint _191_tmp [[function_constant(0)]];
constant uint _191 = is_function_constant_defined(_191_tmp) ? _191_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_191, 1u, 1u);
constant uint LX_tmp [[function_constant(0)]];
constant uint LX = is_function_constant_defined(LX_tmp) ? LX_tmp : 64u;

static inline __attribute__((always_inline))
float half2f(thread const uint& w, thread const uint& e)
{
    return float2(as_type<half2>(w))[e & 1u];
}

kernel void embed_main(constant P& p [[buffer(4)]], const device Tokens& _54 [[buffer(0)]], const device Table& _110 [[buffer(1)]], const device Images& _160 [[buffer(2)]], device X& _178 [[buffer(3)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    uint i = gl_WorkGroupID.y;
    uint d = gl_GlobalInvocationID.x;
    if (d >= p.hidden)
    {
        return;
    }
    int id = _54.tok[1u + i];
    float v;
    if (uint(id) < p.vocab)
    {
        bool _73 = uint(id) < p.row0;
        bool _86;
        if (!_73)
        {
            _86 = uint(id) >= (p.row0 + p.rows);
        }
        else
        {
            _86 = _73;
        }
        if (_86)
        {
            return;
        }
        uint e = ((uint(id) - p.row0) * p.hidden) + d;
        if (_102)
        {
            v = as_type<float>(_110.table[e]);
        }
        else
        {
            if (_117)
            {
                uint param = _110.table[e >> uint(1)];
                uint param_1 = e;
                v = half2f(param, param_1);
            }
            else
            {
                uint w = _110.table[e >> uint(1)];
                uint _137;
                if ((e & 1u) == 0u)
                {
                    _137 = w << uint(16);
                }
                else
                {
                    _137 = w & 4294901760u;
                }
                v = as_type<float>(_137);
            }
        }
    }
    else
    {
        if (p.images == 0u)
        {
            return;
        }
        v = _160.images[((uint(id) - p.vocab) * p.image_stride) + d];
    }
    _178.x[(p.x_off + (i * p.hidden)) + d] = v;
}

