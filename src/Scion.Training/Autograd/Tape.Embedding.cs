namespace Scion.Training.Autograd;

public sealed partial class Tape
{
    /// <summary>Row lookup. ids [T], table [V, D] → [T, D]; table gradient only if it requires one.</summary>
    public Tensor Embedding(int[] ids, Tensor table)
    {
        if (table.Shape.Length != 2) throw new ArgumentException($"Embedding: table must be [vocab, dim], found {table}.");
        int vocab = table.Shape[0], dim = table.Shape[1];
        CheckIds(ids, vocab);
        var y = NewTensor(ids.Length, dim);
        for (int t = 0; t < ids.Length; t++)
            table.Data.AsSpan(ids[t] * dim, dim).CopyTo(y.Data.AsSpan(t * dim, dim));
        if (ShouldRecord(table))
            Record(y, 0, () =>
            {
                var g = y.Grad!;
                var gTable = table.EnsureGrad();
                // Serial over tokens: repeated ids add in token order, reproducibly.
                for (int t = 0; t < ids.Length; t++)
                {
                    var src = g.AsSpan(t * dim, dim);
                    var dst = gTable.AsSpan(ids[t] * dim, dim);
                    for (int i = 0; i < dim; i++) dst[i] += src[i];
                }
            });
        return y;
    }

    /// <summary>Row lookup in a frozen (possibly quantized) table. ids [T], table [V, D] → [T, D]; a constant.</summary>
    public Tensor Embedding(int[] ids, IFrozenWeight table)
    {
        CheckIds(ids, table.Rows);
        int dim = table.Cols;
        var y = NewTensor(ids.Length, dim);
        for (int t = 0; t < ids.Length; t++) table.DequantizeRow(ids[t], y.Data.AsSpan(t * dim, dim));
        return y;
    }

    private static void CheckIds(int[] ids, int vocab)
    {
        for (int t = 0; t < ids.Length; t++)
            if ((uint)ids[t] >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(ids), $"Embedding: token {t} has id {ids[t]}, outside the vocabulary [0, {vocab}).");
    }
}
