namespace Scion.Tensors;

/// <summary>The four words of a <see cref="Xoshiro256"/> generator; saving them resumes the stream exactly.</summary>
public readonly record struct RngState(ulong S0, ulong S1, ulong S2, ulong S3);
