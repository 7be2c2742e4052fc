// One RNG for the whole project: Scion.Tensors' xoshiro256** (sampling, init, dropout, shuffling).
global using Xoshiro256 = Scion.Tensors.Xoshiro256;
global using RngState = Scion.Tensors.RngState;
// The fp32 panel kernel lives with the other kernels in Scion.Tensors; the tape's products call it.
global using Scion.Tensors.Gemm;
