using Scion.Models.Adapters;
using Scion.Models.KvCache;
using Scion.Tensors;

namespace Scion.Models.Llama;

/// <summary>The batched forward pass. Not thread-safe: one forward at a time per model (scratch is reused).</summary>
public sealed partial class LlamaModel
{
    private ForwardScratch? _scratch;

    /// <summary>
    /// Runs every row of the batch through the model, writing keys and values into the cache at (sequence, position),
    /// and returns logits for the rows in <see cref="ForwardBatch.LogitRows"/>: [logitRows, V].
    /// </summary>
    public float[] Forward(ForwardBatch batch, PagedKvCache cache)
    {
        float[]? logits = null;
        var view = Forward(batch, cache, ref logits);
        return logits is not null && logits.Length == view.Length ? logits : view.ToArray();
    }

    /// <summary>
    /// As <see cref="Forward(ForwardBatch, PagedKvCache)"/>, writing the logits into <paramref name="buffer"/> (grown
    /// when too small, else reused) and returning its first [logitRows, V] values. A server calls this every step:
    /// a fresh array of 32 rows × 32,000 logits (4 MiB) per step is large-object garbage that grew a 10-minute soak's
    /// resident memory by half before the GC caught up.
    /// </summary>
    public Span<float> Forward(ForwardBatch batch, PagedKvCache cache, ref float[]? buffer)
    {
        var c = Config;
        int n = batch.Count;
        if (n == 0) return [];
        var x = Trunk(batch, cache);
        var s = _scratch!;
        int m = batch.LogitRows.Count;
        long need = (long)m * c.Vocab;
        if (buffer is null || buffer.Length < need) buffer = new float[need];
        var logits = buffer.AsSpan(0, (int)need);
        if (m == 0) return logits;
        var rows = s.Norm.AsSpan(0, m * c.Dim);
        for (int i = 0; i < m; i++)
            Ops.RmsNorm(x.Slice(batch.LogitRows[i] * c.Dim, c.Dim), Weights.OutputNorm, c.RmsEps, rows.Slice(i * c.Dim, c.Dim));
        MatMul.Multiply(Weights.Output, rows, logits, m, Pool);
        return logits;
    }

    /// <summary>
    /// As <see cref="Forward"/>, but returns every row's final hidden state after the output norm (what the output
    /// projection turns into logits): [rows, D]. Embeddings pool these.
    /// </summary>
    public float[] ForwardHidden(ForwardBatch batch, PagedKvCache cache)
    {
        var c = Config;
        int n = batch.Count;
        if (n == 0) return [];
        var x = Trunk(batch, cache);
        var hidden = new float[(long)n * c.Dim];
        for (int t = 0; t < n; t++)
            Ops.RmsNorm(x.Slice(t * c.Dim, c.Dim), Weights.OutputNorm, c.RmsEps, hidden.AsSpan(t * c.Dim, c.Dim));
        return hidden;
    }

    /// <summary>Embedding lookup and every layer; returns the residual stream x: [T, D] (scratch, valid until the next forward).</summary>
    private Span<float> Trunk(ForwardBatch batch, PagedKvCache cache)
    {
        var c = Config;
        int n = batch.Count;
        var tables = PrepareCache(batch, cache);
        var s = _scratch = ForwardScratch.Ensure(_scratch, c, n);
        var positions = batch.Positions.ToArray();
        var groups = AdapterRowGroups.Of(batch);

        // x: [T, D] residual stream
        var x = s.X.AsSpan(0, n * c.Dim);
        for (int t = 0; t < n; t++)
        {
            int token = batch.Tokens[t];
            Dequantize.Row(Weights.TokenEmbedding.Type, Weights.TokenEmbedding.RowSpan(token), x.Slice(t * c.Dim, c.Dim));
        }

        // Element-wise work between the matmuls runs across rows on the pool (ForwardRows); the attention norm of
        // layer l+1 is fused with layer l's last residual add.
        if (c.Layers > 0) ForwardRows.AddNorm(s.X, null, Weights.Layers[0].AttnNorm, c.RmsEps, s.Norm, n, c.Dim, Pool);
        for (int l = 0; l < c.Layers; l++)
        {
            var w = Weights.Layers[l];
            var xn = s.Norm.AsSpan(0, n * c.Dim);

            var q = s.Q.AsSpan(0, n * c.QDim);
            var k = s.K.AsSpan(0, n * c.KvDim);
            var v = s.V.AsSpan(0, n * c.KvDim);
            // One preparation (rounding or quantizing, packing) of xn for all three.
            MatMul.MultiplyShared(w.Q, w.K, w.V, xn, q, k, v, n, Pool);
            AfterLinear(l, LinearSlot.Q, w.Q, xn, q, n, groups, w.QBias);
            AfterLinear(l, LinearSlot.K, w.K, xn, k, n, groups, w.KBias);
            AfterLinear(l, LinearSlot.V, w.V, xn, v, n, groups, w.VBias);
            ForwardRows.RopeAndCache(Rope, s.Q, s.K, s.V, c.Heads, c.KvHeads, n, positions, tables, cache, l, Pool);

            var attn = s.Attn.AsSpan(0, n * c.QDim);
            PagedAttention.Run(q, attn, n, positions, tables, cache, l, c.Heads, c.KvHeads, c.HeadDim, c.SlidingWindow, Pool);
            var o = s.Norm.AsSpan(0, n * c.Dim); // xn is no longer needed
            Linear(l, LinearSlot.O, w.O, attn, o, n, groups, null);
            // x += o; xn = norm(x). xn is o's buffer: each row's o is read before its xn is written.
            ForwardRows.AddNorm(s.X, s.Norm, w.FfnNorm, c.RmsEps, s.Norm, n, c.Dim, Pool);
            var gate = s.Gate.AsSpan(0, n * c.FfnDim);
            var up = s.Up.AsSpan(0, n * c.FfnDim);
            MatMul.MultiplyShared(w.Gate, w.Up, xn, gate, up, n, Pool);
            AfterLinear(l, LinearSlot.Gate, w.Gate, xn, gate, n, groups, null);
            AfterLinear(l, LinearSlot.Up, w.Up, xn, up, n, groups, null);
            ForwardRows.SiluMul(s.Gate, s.Up, (long)n * c.FfnDim, n, Pool);
            var down = s.Norm.AsSpan(0, n * c.Dim);
            Linear(l, LinearSlot.Down, w.Down, gate, down, n, groups, null);
            // x += down, and the next layer's attention norm into down's buffer (the next layer's xn).
            ForwardRows.AddNorm(s.X, s.Norm, l + 1 < c.Layers ? Weights.Layers[l + 1].AttnNorm : null, c.RmsEps, s.Norm, n, c.Dim, Pool);
        }

        for (int t = 0; t < n; t++)
        {
            var table = tables[t];
            if (positions[t] + 1 > table.Length) cache.SetLength(table, positions[t] + 1);
        }
        return x;
    }

    private void Linear(int layer, LinearSlot slot, in WeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int n,
        AdapterRowGroups groups, float[]? bias)
    {
        MatMul.Multiply(w, x, y, n, Pool);
        AfterLinear(layer, slot, w, x, y, n, groups, bias);
    }

    /// <summary>What follows a linear's base product y = W·x: each adapter group's term, then the bias.</summary>
    private void AfterLinear(int layer, LinearSlot slot, in WeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int n,
        AdapterRowGroups groups, float[]? bias)
    {
        if (!groups.IsEmpty) LoraApply.AddGroups(layer, slot, x, y, w.Cols, w.Rows, groups, Pool);
        // Bias after the adapter: DoRA rescales W·x + ΔW·x but not the bias, as PEFT does.
        if (bias is not null)
            for (int t = 0; t < n; t++) Ops.Add(y.Slice(t * w.Rows, w.Rows), bias, y.Slice(t * w.Rows, w.Rows));
    }

    /// <summary>Checks positions against what each sequence has cached and reserves blocks; returns each row's table.</summary>
    private static KvBlockTable[] PrepareCache(ForwardBatch batch, PagedKvCache cache)
    {
        var need = new Dictionary<int, (int Min, int Max)>();
        // Rows write their keys and values in parallel: two rows with one (sequence, position) would race.
        var written = batch.Count > 1 ? new Dictionary<(int, int), int>(batch.Count) : null;
        for (int t = 0; t < batch.Count; t++)
        {
            int seq = batch.Sequences[t], pos = batch.Positions[t];
            if (written is not null && !written.TryAdd((seq, pos), t))
                throw new ArgumentException($"Batch rows {written[(seq, pos)]} and {t} both hold sequence {seq} at position {pos}; a batch may hold each position of a sequence once.");
            if (pos < 0) throw new ArgumentException($"Batch row {t}: position {pos} is negative.");
            need[seq] = need.TryGetValue(seq, out var r) ? (Math.Min(r.Min, pos), Math.Max(r.Max, pos)) : (pos, pos);
        }
        foreach (var (seq, (min, max)) in need)
        {
            int cached = cache.Length(seq);
            if (min > cached)
                throw new ArgumentException($"Sequence {seq}: batch starts at position {min} but only positions [0, {cached}) are cached.");
            // Rows at positions below the cached length overwrite (re-prefill); later positions are dropped.
            if (min < cached) cache.Truncate(seq, min);
            cache.Reserve(seq, max + 1);
        }
        var tables = new KvBlockTable[batch.Count];
        for (int t = 0; t < batch.Count; t++) tables[t] = cache.Table(batch.Sequences[t])!;
        return tables;
    }
}
