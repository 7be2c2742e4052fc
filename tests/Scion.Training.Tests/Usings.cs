global using Xoshiro256 = Scion.Tensors.Xoshiro256;
global using RngState = Scion.Tensors.RngState;
