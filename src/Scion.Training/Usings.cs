// One RNG for the whole project: Scion.Tensors' xoshiro256** (sampling, init, dropout, shuffling).
global using Xoshiro256 = Scion.Tensors.Xoshiro256;
global using RngState = Scion.Tensors.RngState;
