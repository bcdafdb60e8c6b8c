#version 450
// act: the MLP activations, elementwise over count values at x_off.
// MODE 0 SwiGLU: x[i] = silu(x[i]) * up[i] (the decoder's gate and up).
// MODE 1 GELU, tanh approximation (gelu_pytorch_tanh), in place.
// MODE 2 GELU, exact erf form (the vision mergers' nn.GELU()), in place.
// Workgroups: (ceil(count/LX)) — large counts use y too: index = y*65535*LX + x.
#include "common.glsl"
layout(constant_id = 1) const uint MODE = 0;

layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Up { float up[]; };
layout(push_constant) uniform P { uint count; } p;

// erf to float32 precision: a Taylor series near zero (where 1 - erfc
// would lose the relative precision of small results), else 1 - erfc(|z|)
// with the Numerical Recipes erfcc Chebyshev fit (fractional error of erfc
// < 1.2e-7).
float erf_(float z) {
    float a = abs(z);
    if (a < 0.5) {
        float z2 = z * z;
        return 1.1283791670955126 * z * (1.0 + z2 * (-1.0 / 3.0 + z2 * (0.1 + z2 * (-1.0 / 42.0 + z2 * (1.0 / 216.0 + z2 * (-1.0 / 1320.0 + z2 * (1.0 / 9360.0)))))));
    }
    float t = 1.0 / (1.0 + 0.5 * a);
    float r = t * exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
              t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
              t * (-0.82215223 + t * 0.17087277)))))))));
    return z >= 0.0 ? 1.0 - r : r - 1.0;
}

void main() {
    uint i = gl_WorkGroupID.y * 65535u * LX + gl_GlobalInvocationID.x;
    if (i >= p.count) return;
    float v = x[i];
    if (MODE == 0u) {
        x[i] = v / (1.0 + exp(-v)) * up[i];
    } else if (MODE == 1u) {
        float z = 0.7978845608028654 * (v + 0.044715 * v * v * v);
        x[i] = v / (1.0 + exp(-2.0 * z));
    } else {
        x[i] = 0.5 * v * (1.0 + erf_(v * 0.7071067811865476));
    }
}
