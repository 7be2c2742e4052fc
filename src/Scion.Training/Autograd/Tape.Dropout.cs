namespace Scion.Training.Autograd;

public sealed partial class Tape
{
    /// <summary>
    /// Inverted dropout on a copy of x: each element is dropped with probability p (one
    /// <see cref="Xoshiro256.NextFloat"/> per element, row-major) and survivors scaled by 1/(1 − p).
    /// Returns null (meaning "use x as is") when not training or p = 0. keep [x.Length].
    /// </summary>
    internal float[]? DropoutCopy(float[] x, float p, out bool[]? keep)
    {
        keep = null;
        if (p == 0f || !Training) return null;
        if (!(p > 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), $"Dropout probability must be in [0, 1), found {p}.");
        float scale = 1f / (1f - p);
        var dropped = GC.AllocateUninitializedArray<float>(x.Length); // every element written below, by one thread
        keep = new bool[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            bool k = Rng.NextFloat() >= p;
            keep[i] = k;
            dropped[i] = k ? x[i] * scale : 0f;
        }
        return dropped;
    }

    /// <summary>dx += keep ⊙ dxd / (1 − p): the backward of <see cref="DropoutCopy"/>.</summary>
    internal static void DropoutBackward(float[] dxd, bool[] keep, float p, float[] dx)
    {
        float scale = 1f / (1f - p);
        for (int i = 0; i < dx.Length; i++)
            if (keep[i]) dx[i] += dxd[i] * scale;
    }
}
