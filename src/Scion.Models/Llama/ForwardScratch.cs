namespace Scion.Models.Llama;

/// <summary>Activation buffers of one forward, grown on demand and reused so decode steps allocate nothing.</summary>
internal sealed class ForwardScratch
{
    public int Capacity { get; private init; }
    public required float[] X { get; init; }     // [T, D]
    public required float[] Norm { get; init; }  // [T, D]
    public required float[] Q { get; init; }     // [T, H*Dh]
    public required float[] K { get; init; }     // [T, Hkv*Dh]
    public required float[] V { get; init; }     // [T, Hkv*Dh]
    public required float[] Attn { get; init; }  // [T, H*Dh]
    public required float[] Gate { get; init; }  // [T, F]
    public required float[] Up { get; init; }    // [T, F]

    public static ForwardScratch Ensure(ForwardScratch? current, LlamaConfig c, int tokens)
    {
        if (current is not null && current.Capacity >= tokens) return current;
        int cap = Math.Max(tokens, current?.Capacity * 2 ?? 1);
        return new ForwardScratch
        {
            Capacity = cap,
            X = new float[cap * c.Dim],
            Norm = new float[cap * Math.Max(c.Dim, c.QDim)],
            Q = new float[cap * c.QDim],
            K = new float[cap * c.KvDim],
            V = new float[cap * c.KvDim],
            Attn = new float[cap * c.QDim],
            Gate = new float[cap * c.FfnDim],
            Up = new float[cap * c.FfnDim],
        };
    }
}
