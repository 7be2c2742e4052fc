namespace Scion.Training.Autograd;

public sealed partial class Tape
{
    /// <summary>
    /// norms[o] = ‖W[o, :] + scale · Σ_k B[o, k] A[k, :]‖₂, PEFT's DoRA weight norm. Also the initial
    /// magnitude vector (with B = 0 it is ‖W‖ per row). a [r, in], b [out, r], norms [out].
    /// </summary>
    public static void DoraWeightNorms(IFrozenWeight w, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int rank, float scale, Span<float> norms)
    {
        int outF = w.Rows, inF = w.Cols;
        if (a.Length != rank * inF || b.Length != outF * rank || norms.Length != outF)
            throw new ArgumentException($"DoraWeightNorms: needs A [{rank}, {inF}], B [{outF}, {rank}], norms [{outF}]; found {a.Length}, {b.Length}, {norms.Length} values.");
        float[] aCopy = a.ToArray(), bCopy = b.ToArray(), result = new float[outF];
        Parallel.For(0, outF, () => new float[inF], (o, _, row) =>
        {
            w.DequantizeRow(o, row);
            for (int k = 0; k < rank; k++)
            {
                float c = scale * bCopy[o * rank + k];
                var ar = aCopy.AsSpan(k * inF, inF);
                for (int i = 0; i < inF; i++) row[i] += c * ar[i];
            }
            double sum = 0;
            for (int i = 0; i < inF; i++) sum += (double)row[i] * row[i];
            result[o] = (float)Math.Sqrt(sum);
            return row;
        }, _ => { });
        result.CopyTo(norms);
    }
}
