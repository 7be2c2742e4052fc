using Scion.Tensors.Packed;

namespace Scion.Tensors.Tests;

/// <summary><see cref="MatMul.MultiplyShared(in WeightMatrix, in WeightMatrix, in WeightMatrix, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, int, WorkerPool?)"/>
/// prepares the shared input once; every output must carry the bits of a separate <see cref="MatMul.Multiply(in WeightMatrix, ReadOnlySpan{float}, Span{float}, int, WorkerPool?)"/>.</summary>
public class SharedInputMatMulTests
{
    public static IEnumerable<object[]> Cases() =>
        from type in new[] { GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K }
        from tokens in new[] { 1, 5, 70, 530 }   // decode, dot-product tiles, one GEMM chunk, two chunks
        select new object[] { type, tokens };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ThreeMatricesEqualSeparateProductsBitwise(GgmlType type, int tokens)
    {
        int cols = type == GgmlType.Q4_K ? 256 : 96;
        int[] rows = [40, 16, 24];
        var buffers = rows.Select((r, i) => WeightBuffer.FromFloats(TestData.Floats(r * cols, 70 + i), r, cols, type)).ToArray();
        var packs = buffers.Select(b => PackedWeights.TryPack(b.Matrix)).ToArray();
        try
        {
            var ws = buffers.Select((b, i) => packs[i] is { } p ? b.Matrix.WithPacked(p) : b.Matrix).ToArray();
            var x = TestData.Floats(tokens * cols, 80);
            foreach (int threads in new[] { 1, 3 })
            {
                using var pool = new WorkerPool(threads);
                var shared = rows.Select(r => new float[tokens * r]).ToArray();
                MatMul.MultiplyShared(ws[0], ws[1], ws[2], x, shared[0], shared[1], shared[2], tokens, pool);
                var pair = rows.Take(2).Select(r => new float[tokens * r]).ToArray();
                MatMul.MultiplyShared(ws[0], ws[1], x, pair[0], pair[1], tokens, pool);
                for (int i = 0; i < 3; i++)
                {
                    var alone = new float[tokens * rows[i]];
                    MatMul.Multiply(ws[i], x, alone, tokens, pool);
                    Assert.Equal(alone, shared[i]);
                    if (i < 2) Assert.Equal(alone, pair[i]);
                }
            }
        }
        finally
        {
            foreach (var p in packs) p?.Dispose();
            foreach (var b in buffers) b.Dispose();
        }
    }

    [Fact]
    public void MixedTypesFallBackToSeparateProducts()
    {
        const int cols = 64, tokens = 20;
        using var a = WeightBuffer.FromFloats(TestData.Floats(16 * cols, 1), 16, cols, GgmlType.F16);
        using var b = WeightBuffer.FromFloats(TestData.Floats(8 * cols, 2), 8, cols, GgmlType.Q8_0);
        var x = TestData.Floats(tokens * cols, 3);
        using var pool = new WorkerPool(2);
        var ya = new float[tokens * 16];
        var yb = new float[tokens * 8];
        MatMul.MultiplyShared(a.Matrix, b.Matrix, x, ya, yb, tokens, pool);
        var ea = new float[tokens * 16];
        var eb = new float[tokens * 8];
        MatMul.Multiply(a.Matrix, x, ea, tokens, pool);
        MatMul.Multiply(b.Matrix, x, eb, tokens, pool);
        Assert.Equal(ea, ya);
        Assert.Equal(eb, yb);
    }

    [Fact]
    public void ShortOutputIsRejected()
    {
        using var a = WeightBuffer.FromFloats(TestData.Floats(8 * 32, 1), 8, 32, GgmlType.F32);
        var x = TestData.Floats(4 * 32, 2);
        var e = Assert.Throws<ArgumentException>(() => MatMul.MultiplyShared(a.Matrix, a.Matrix, x, new float[32], new float[31], 4, null));
        Assert.Contains("Output 1", e.Message);
    }
}
