using Scion.Tensors.Cpu;
using Scion.Tensors.Reference;

namespace Scion.Tensors.Tests;

/// <summary>
/// Attention's grouped kernels equal their scalar twins bitwise at every level (the twin runs at the level's lane
/// order), and the twins are a correct attention: close to a double-precision softmax·V.
/// </summary>
public unsafe class AttentionKernelTests
{
    private static Half[] Halves(int n, int seed, float scale = 1f)
    {
        var f = TestData.Floats(n, seed, scale);
        var h = new Half[n];
        for (int i = 0; i < n; i++) h[i] = (Half)f[i];
        return h;
    }

    [Theory]
    [InlineData(8, 64, 16, 256)]   // TinyLlama: 8 query heads per KV head, Dh 64, a full block
    [InlineData(1, 64, 7, 64)]     // MHA, a partial block
    [InlineData(3, 128, 16, 384)]  // an odd group
    [InlineData(9, 64, 5, 576)]    // eight heads at once plus a leftover one
    [InlineData(8, 40, 3, 320)]    // Dh not a multiple of 16: the 8-lane order even at Avx512
    [InlineData(2, 12, 4, 24)]     // Dh not a multiple of 8: the sequential order
    public void ScoresEqualTheTwin(int group, int headDim, int count, int keyStride)
    {
        var q = TestData.Floats(group * headDim, 1);
        var keys = Halves(count * keyStride, 2);
        int stride = count + 3;
        foreach (var level in TestData.AllLevels())
        foreach (bool finite in new[] { true, false })
        {
            var got = new float[group * stride];
            var want = new float[group * stride];
            fixed (float* qp = q, g = got, w = want)
            fixed (Half* k = keys)
            {
                AttentionKernels.Scores(qp, group, headDim, k, keyStride, count, 0.125f, g, stride, finite, level);
                ReferenceAttention.Scores(qp, group, headDim, k, keyStride, count, 0.125f, w, stride, AttentionKernels.Lanes(headDim, level));
            }
            Assert.Equal(want, got);
            for (int j = 0; j < group; j++)
                for (int c = 0; c < count; c++)
                {
                    double exact = 0;
                    for (int i = 0; i < headDim; i++) exact += (double)q[j * headDim + i] * (double)keys[c * keyStride + i];
                    TestData.Near(exact * 0.125, got[j * stride + c], 1e-4, $"{level} score ({j}, {c})");
                }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(37)]
    [InlineData(300)]
    [InlineData(2048)]
    public void SoftmaxEqualsTheTwinAndIsASoftmax(int n)
    {
        var scores = TestData.Floats(n, 3, 4f);
        foreach (var level in TestData.AllLevels())
        {
            var got = (float[])scores.Clone();
            var want = (float[])scores.Clone();
            fixed (float* g = got, w = want)
            {
                AttentionKernels.SoftmaxToHalf(g, n, level);
                ReferenceAttention.SoftmaxToHalf(w, n, AttentionKernels.SoftmaxLanes(level));
            }
            Assert.Equal(want, got);
            double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
            for (int i = 0; i < n; i++)
            {
                Assert.Equal((float)(Half)got[i], got[i]); // probabilities are already halves
                double exact = Math.Exp(scores[i] - max) / sum;
                TestData.Near(exact, got[i], exact / 1024 + 1e-7, $"{level} p[{i}]");
            }
        }
    }

    [Theory]
    [InlineData(8, 64, 16, 256)]
    [InlineData(1, 64, 9, 64)]
    [InlineData(9, 128, 16, 512)]
    [InlineData(3, 40, 5, 120)]
    [InlineData(2, 12, 4, 24)]
    public void ValuesEqualTheTwin(int group, int headDim, int count, int valueStride)
    {
        int probStride = count + 5, outStride = headDim + 8;
        var p = TestData.Floats(group * probStride, 4, 0.1f);
        var values = Halves(count * valueStride, 5);
        var start = TestData.Floats(group * outStride, 6);
        foreach (var level in TestData.AllLevels())
        foreach (bool finite in new[] { true, false })
        {
            var got = (float[])start.Clone();
            var want = (float[])start.Clone();
            fixed (float* pp = p, g = got, w = want)
            fixed (Half* v = values)
            {
                AttentionKernels.AccumulateValues(pp, group, probStride, v, valueStride, count, g, outStride, headDim, finite, level);
                ReferenceAttention.AccumulateValues(pp, group, probStride, v, valueStride, count, w, outStride, headDim);
            }
            Assert.Equal(want, got);
            for (int j = 0; j < group; j++)
                for (int i = 0; i < outStride; i++)
                {
                    double exact = start[j * outStride + i];
                    if (i < headDim)
                        for (int k = 0; k < count; k++) exact += (double)p[j * probStride + k] * (double)values[k * valueStride + i];
                    TestData.Near(exact, got[j * outStride + i], 1e-4, $"{level} out ({j}, {i})");
                }
        }
    }

    [Theory]
    [InlineData(GgmlType.Q8_0, 8, 64, 0, 16, 256)]   // TinyLlama's heads over a q8_0 cache
    [InlineData(GgmlType.Q4_0, 8, 64, 128, 16, 256)] // its third KV head
    [InlineData(GgmlType.Q8_0, 2, 16, 16, 5, 32)]    // golden-tiny: the second head is the upper half of a block
    [InlineData(GgmlType.Q4_0, 2, 16, 16, 5, 32)]    // ... the high nibbles
    [InlineData(GgmlType.Q4_0, 3, 8, 24, 4, 32)]     // stories260K: heads of 8 inside one block
    [InlineData(GgmlType.Q8_0, 9, 48, 48, 7, 96)]    // a head starting mid-block, eight queries plus one
    [InlineData(GgmlType.Q4_0, 2, 12, 12, 3, 32)]    // the sequential order
    public void QuantizedRowsEqualTheTwinAndTheDequantizer(GgmlType type, int group, int headDim, int element, int count, int rowValues)
    {
        long rowBytes = GgmlTypeInfo.RowBytes(type, rowValues);
        var rows = new byte[count * rowBytes];
        var floats = TestData.Floats(count * rowValues, 12, 3f);
        for (int k = 0; k < count; k++) Quantize.Row(type, floats.AsSpan(k * rowValues, rowValues), rows.AsSpan((int)(k * rowBytes), (int)rowBytes));
        var dequantized = new float[count * rowValues];
        for (int k = 0; k < count; k++) Dequantize.Row(type, rows.AsSpan((int)(k * rowBytes), (int)rowBytes), dequantized.AsSpan(k * rowValues, rowValues));
        var q = TestData.Floats(group * headDim, 13);
        int stride = count + 2, outStride = headDim + 4;
        var p = TestData.Floats(group * stride, 14, 0.1f);
        var start = TestData.Floats(group * outStride, 15);
        fixed (byte* r = rows)
        {
            for (int k = 0; k < count; k++)
                for (int i = 0; i < rowValues; i++)
                    Assert.Equal(dequantized[k * rowValues + i], ReferenceAttention.Element(type, r + k * rowBytes, i));
            var kv = new KvRows(type, r, rowBytes, element);
            foreach (var level in TestData.AllLevels())
            {
                var got = new float[group * stride];
                var want = new float[group * stride];
                var gotOut = (float[])start.Clone();
                var wantOut = (float[])start.Clone();
                fixed (float* qp = q, pp = p, g = got, w = want, go = gotOut, wo = wantOut)
                {
                    AttentionKernels.Scores(qp, group, headDim, kv, count, 0.25f, g, stride, finite: true, level);
                    ReferenceAttention.Scores(qp, group, headDim, kv, count, 0.25f, w, stride, AttentionKernels.Lanes(headDim, level));
                    AttentionKernels.AccumulateValues(pp, group, stride, kv, count, go, outStride, headDim, finite: true, level);
                    ReferenceAttention.AccumulateValues(pp, group, stride, kv, count, wo, outStride, headDim);
                }
                Assert.Equal(want, got);
                Assert.Equal(wantOut, gotOut);
                for (int j = 0; j < group; j++)
                    for (int k = 0; k < count; k++)
                    {
                        double exact = 0;
                        for (int i = 0; i < headDim; i++) exact += (double)q[j * headDim + i] * dequantized[k * rowValues + element + i];
                        TestData.Near(exact * 0.25, got[j * stride + k], 1e-4, $"{type} {level} score ({j}, {k})");
                    }
                for (int j = 0; j < group; j++)
                    for (int i = 0; i < headDim; i++)
                    {
                        double exact = start[j * outStride + i];
                        for (int k = 0; k < count; k++) exact += (double)p[j * stride + k] * dequantized[k * rowValues + element + i];
                        TestData.Near(exact, gotOut[j * outStride + i], 1e-4, $"{type} {level} out ({j}, {i})");
                    }
            }
        }
    }

    [Theory]
    [InlineData(32, 64, 16, 16)]   // a TinyLlama tile: four rows of eight heads, one block of keys
    [InlineData(8, 64, 16, 16)]    // a decode row
    [InlineData(1, 64, 13, 16)]    // MHA, a partial block: an 8-lane chunk and a scalar tail
    [InlineData(11, 16, 4, 4)]     // small blocks: the scalar twin only
    [InlineData(9, 40, 24, 32)]    // eight queries plus one, 16 + 8 keys
    public void TransposedScoresEqualTheTwinAtEveryLevelAndAreDots(int queries, int headDim, int count, int keyStride)
    {
        var q = TestData.Floats(queries * headDim, 21);
        var keys = Halves(headDim * keyStride, 22); // [headDim, keyStride]
        int stride = count + 3;
        float[]? first = null;
        foreach (var level in TestData.AllLevels())
        foreach (bool finite in new[] { true, false })
        {
            var got = new float[queries * stride];
            var want = new float[queries * stride];
            fixed (float* qp = q, g = got, w = want)
            fixed (Half* k = keys)
            {
                AttentionKernels.ScoresTransposed(qp, queries, headDim, k, keyStride, count, 0.125f, g, stride, finite, level);
                ReferenceAttention.ScoresTransposed(qp, queries, headDim, k, keyStride, count, 0.125f, w, stride);
            }
            Assert.Equal(want, got);
            first ??= got;
            Assert.Equal(first, got); // one order at every level
            for (int j = 0; j < queries; j++)
                for (int c = 0; c < count; c++)
                {
                    double exact = 0;
                    for (int i = 0; i < headDim; i++) exact += (double)q[j * headDim + i] * (double)keys[i * keyStride + c];
                    TestData.Near(exact * 0.125, got[j * stride + c], 1e-4, $"{level} score ({j}, {c})");
                }
        }
        // Scoring a subset of the queries, or of the keys, gives their scores unchanged.
        var some = new float[3 * stride];
        fixed (float* qp = q, s = some) fixed (Half* k = keys)
            AttentionKernels.ScoresTransposed(qp + headDim, Math.Min(3, queries - 1), headDim, k + 1, keyStride, count - 1, 0.125f, s, stride, true, KernelSelection.Current);
        for (int j = 0; j < Math.Min(3, queries - 1); j++)
            for (int c = 0; c < count - 1; c++) Assert.Equal(first![(j + 1) * stride + c + 1], some[j * stride + c]);
    }

    [Theory]
    [InlineData(GgmlType.F16, 64, 64, 256)]
    [InlineData(GgmlType.Q8_0, 64, 128, 256)]
    [InlineData(GgmlType.Q4_0, 16, 16, 32)]
    [InlineData(GgmlType.Q4_0, 12, 12, 32)]
    public void WidenedRowsAreTheLoadersFloatsAndScoreTheSame(GgmlType type, int headDim, int element, int rowValues)
    {
        const int count = 13, group = 9;
        long rowBytes = GgmlTypeInfo.RowBytes(type, rowValues);
        var rows = new byte[count * rowBytes];
        var floats = TestData.Floats(count * rowValues, 31, 3f);
        for (int k = 0; k < count; k++) Quantize.Row(type, floats.AsSpan(k * rowValues, rowValues), rows.AsSpan((int)(k * rowBytes), (int)rowBytes));
        var q = TestData.Floats(group * headDim, 32);
        fixed (byte* r = rows) fixed (float* qp = q)
            foreach (var level in TestData.AllLevels())
            {
                var kv = new KvRows(type, r, rowBytes, element);
                var wide = new float[count * headDim];
                var direct = new float[group * count];
                var viaWide = new float[group * count];
                fixed (float* w = wide, a = direct, b = viaWide)
                {
                    AttentionKernels.WidenRows(kv, count, headDim, w, level);
                    for (int k = 0; k < count; k++)
                        for (int i = 0; i < headDim; i++) Assert.Equal(ReferenceAttention.Element(type, r + k * rowBytes, element + i), wide[k * headDim + i]);
                    AttentionKernels.Scores(qp, group, headDim, kv, count, 0.5f, a, count, finite: true, level);
                    AttentionKernels.Scores(qp, group, headDim, new KvRows(GgmlType.F32, (byte*)w, headDim * 4L, 0), count, 0.5f, b, count, finite: true, level);
                }
                Assert.Equal(direct, viaWide);
            }
        // Transposed halves widened once score as the halves do.
        var halves = Halves(headDim * 16, 33);
        var t = new float[headDim * 16];
        var s1 = new float[group * 16];
        var s2 = new float[group * 16];
        fixed (Half* h = halves) fixed (float* tp = t, a = s1, b = s2, qp = q)
            foreach (var level in TestData.AllLevels())
            {
                AttentionKernels.WidenTransposed(h, 16, headDim, 16, tp, level);
                AttentionKernels.ScoresTransposed(qp, group, headDim, h, 16, 16, 0.5f, a, 16, finite: true, level);
                AttentionKernels.ScoresTransposed(qp, group, headDim, tp, 16, 16, 0.5f, b, 16, level);
                Assert.Equal(s1, s2);
            }
    }

    [Fact]
    public void TransposedScoresOfInfiniteKeysFollowTheTwin()
    {
        const int queries = 8, headDim = 32, count = 16;
        var q = TestData.Floats(queries * headDim, 23);
        var keys = Halves(headDim * count, 24);
        keys[5 * count + 3] = Half.PositiveInfinity;
        keys[9 * count + 12] = Half.NaN;
        foreach (var level in TestData.AllLevels())
        {
            var got = new float[queries * count];
            var want = new float[queries * count];
            fixed (float* qp = q, g = got, w = want) fixed (Half* k = keys)
            {
                AttentionKernels.ScoresTransposed(qp, queries, headDim, k, count, count, 1f, g, count, finite: false, level);
                ReferenceAttention.ScoresTransposed(qp, queries, headDim, k, count, count, 1f, w, count);
            }
            Assert.Equal(want, got);
            Assert.False(float.IsFinite(got[3]));
            Assert.True(float.IsNaN(got[12]));
        }
    }

    [Theory]
    [InlineData(7)]
    [InlineData(37)]
    [InlineData(300)]
    public void SoftmaxInFloatEqualsTheTwinAndIsNotRounded(int n)
    {
        var scores = TestData.Floats(n, 3, 4f);
        foreach (var level in TestData.AllLevels())
        {
            var got = (float[])scores.Clone();
            var want = (float[])scores.Clone();
            var halves = (float[])scores.Clone();
            fixed (float* g = got, w = want, h = halves)
            {
                AttentionKernels.Softmax(g, n, toHalf: false, level);
                ReferenceAttention.Softmax(w, n, AttentionKernels.SoftmaxLanes(level), toHalf: false);
                AttentionKernels.SoftmaxToHalf(h, n, level);
            }
            Assert.Equal(want, got);
            Assert.Contains(got, x => (float)(Half)x != x);
            for (int i = 0; i < n; i++) Assert.Equal((float)(Half)got[i], halves[i]);
        }
    }

    [Fact]
    public void InfiniteAndNaNHalvesFollowTheTwinWhenNotMarkedFinite()
    {
        const int group = 8, headDim = 64, count = 4;
        var q = TestData.Floats(group * headDim, 9);
        var p = TestData.Floats(group * count, 10, 0.1f);
        var rows = Halves(count * headDim, 11);
        rows[3] = Half.PositiveInfinity;
        rows[headDim + 17] = Half.NegativeInfinity;
        rows[2 * headDim + 40] = Half.NaN;
        foreach (var level in TestData.AllLevels())
        {
            var got = new float[group * count];
            var want = new float[group * count];
            var gotOut = new float[group * headDim];
            var wantOut = new float[group * headDim];
            fixed (float* qp = q, pp = p, g = got, w = want, go = gotOut, wo = wantOut)
            fixed (Half* r = rows)
            {
                AttentionKernels.Scores(qp, group, headDim, r, headDim, count, 1f, g, count, finite: false, level);
                ReferenceAttention.Scores(qp, group, headDim, r, headDim, count, 1f, w, count, AttentionKernels.Lanes(headDim, level));
                AttentionKernels.AccumulateValues(pp, group, count, r, headDim, count, go, headDim, headDim, finite: false, level);
                ReferenceAttention.AccumulateValues(pp, group, count, r, headDim, count, wo, headDim, headDim);
            }
            Assert.Equal(want, got);
            Assert.Equal(wantOut, gotOut);
            Assert.True(float.IsNaN(got[0]) || float.IsInfinity(got[0]), $"{level}: an infinite key must not score finite");
        }
    }

    [Fact]
    public void RoundToHalfEqualsTheCast()
    {
        var x = TestData.Floats(1003, 7, 300f);
        x[5] = 70000f; x[6] = 1e-7f; x[7] = -0f;
        foreach (var level in TestData.AllLevels())
        {
            var got = new float[x.Length];
            fixed (float* s = x, d = got) AttentionKernels.RoundToHalf(s, d, x.Length, level);
            for (int i = 0; i < x.Length; i++) Assert.Equal((float)(Half)x[i], got[i]);
        }
    }

    [Fact]
    public void ProbabilityRoundingEqualsTheHalfCast()
    {
        // Every half up to the largest finite one, the midpoints between neighbours (the ties) and their float
        // neighbours, plus random probabilities.
        var values = new List<float> { 0f, 1f, 65504f, 65519f, 6.103515625e-05f, 6.1035153e-05f, 2.9802322e-08f, 1e-30f };
        for (int h = 0; h < 0x7bff; h++)
        {
            float a = HalfConvert.HalfToFloat((ushort)h), b = HalfConvert.HalfToFloat((ushort)(h + 1)), mid = (a + b) / 2;
            values.AddRange([a, mid, MathF.BitDecrement(mid), MathF.BitIncrement(mid)]);
        }
        var rng = new Random(8);
        for (int i = 0; i < 20_000; i++) values.Add((float)rng.NextDouble() * MathF.Pow(2, -rng.Next(30)));
        while (values.Count % 16 != 0) values.Add(0.5f);
        var x = values.ToArray();
        for (int i = 0; i < x.Length; i += 16)
        {
            var wide = AttentionKernels.RoundProbabilityToHalf(System.Runtime.Intrinsics.Vector512.Create(x.AsSpan(i, 16)));
            var lo = AttentionKernels.RoundProbabilityToHalf(System.Runtime.Intrinsics.Vector256.Create(x.AsSpan(i, 8)));
            var hi = AttentionKernels.RoundProbabilityToHalf(System.Runtime.Intrinsics.Vector256.Create(x.AsSpan(i + 8, 8)));
            for (int l = 0; l < 16; l++)
            {
                float want = (float)(Half)x[i + l];
                Assert.True(want == wide[l], $"512-bit: {x[i + l]:R} → {wide[l]:R}, expected {want:R}");
                Assert.True(want == (l < 8 ? lo[l] : hi[l - 8]), $"256-bit: {x[i + l]:R}, expected {want:R}");
            }
        }
    }
}
