package metal

// LanguageVersion is the Metal Shading Language version NewLibrary
// compiles as: MTLLanguageVersion3_0 ((3 << 16) | 0; macOS 13, iOS 16).
// It is set explicitly because Metal derives the default from the SDK the
// binary was linked against, which a cgo-free Go binary does not record,
// and then compiles as MSL 2.4.
const LanguageVersion = MSL3_0

// SIMDWidth is the SIMD-group width of every Apple GPU (a pipeline's
// threadExecutionWidth).
const SIMDWidth = 32
