// Shared by every kernel. Buffers are declared as 32-bit words so that the
// kernels need no 8- or 16-bit storage features: int8 weights, float16
// scales, bfloat16 tables and a float16 KV cache are unpacked from words.
// Workgroup size along x is specialization constant 0 everywhere; no kernel
// assumes a subgroup size (reductions go through shared memory).
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint LX = 64;

// sbyte returns byte k (0..3) of w as a signed integer (two's complement).
int sbyte(uint w, uint k) { return bitfieldExtract(int(w), int(8u * k), 8); }

// half2f reads element e of a packed float16 array.
float half2f(uint w, uint e) { return unpackHalf2x16(w)[e & 1u]; }
