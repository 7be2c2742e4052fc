using Scion.Tensors.Cpu;
using Scion.Tensors.Packed;
using Scion.Tensors.Quant;
using Scion.Tensors.Reference;

namespace Scion.Tensors.Tests;

public class PackedMatMulTests
{
    public static IEnumerable<object[]> Shapes() =>
        from t in new[] { GgmlType.Q4_0, GgmlType.Q8_0 }
        from shape in new[] { (Rows: 37, Cols: 96), (Rows: 8, Cols: 32), (Rows: 5, Cols: 160), (Rows: 72, Cols: 64) }
        select new object[] { t, shape.Rows, shape.Cols };

    /// <summary>Every token count 1..17 (4-token tiles, single-token leftovers, GEMV), rows not a multiple of 8 (padded
    /// last group), 1 and 3 threads: the packed kernels give the scalar twin's bits.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public unsafe void PackedEqualsScalarTwinBitwise(GgmlType type, int rows, int cols)
    {
        using var weights = WeightBuffer.FromFloats(TestData.Floats(rows * cols, 51), rows, cols, type);
        using var packed = PackedWeights.TryPack(weights.Matrix)!;
        Assert.NotNull(packed);
        var w = weights.Matrix.WithPacked(packed);
        const int maxTokens = 17;
        var x = TestData.Floats(maxTokens * cols, 52);
        var act = new byte[GgmlTypeInfo.RowBytes(GgmlType.Q8_0, cols)];
        var expected = new float[maxTokens * rows];
        for (int t = 0; t < maxTokens; t++)
        {
            ActivationQuant.Row(GgmlType.Q8_0, x.AsSpan(t * cols, cols), act);
            fixed (byte* pa = act)
                for (int r = 0; r < rows; r++) expected[t * rows + r] = ReferencePackedDot.Dot(type, w.RowPointer(r), pa, cols);
        }
        foreach (int threads in new[] { 1, 3 })
        {
            using var pool = new WorkerPool(threads);
            foreach (var level in TestData.SimdLevels().Where(l => PackedMatMul.Supports(type, l)))
                for (int tokens = 1; tokens <= maxTokens; tokens++)
                {
                    var y = new float[tokens * rows];
                    fixed (float* px = x) fixed (float* py = y) MatMul.Multiply(w, px, py, tokens, pool, level);
                    for (int i = 0; i < y.Length; i++)
                        if (BitConverter.SingleToInt32Bits(y[i]) != BitConverter.SingleToInt32Bits(expected[i]))
                            Assert.Fail($"{type} [{rows}, {cols}] tokens {tokens} threads {threads} {level} y[{i / rows},{i % rows}]: {y[i]} != twin {expected[i]}");
                }
        }
    }

    /// <summary>Packed and row kernels differ only in float summation order.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public unsafe void PackedIsCloseToUnpacked(GgmlType type, int rows, int cols)
    {
        const int tokens = 11;
        using var weights = WeightBuffer.FromFloats(TestData.Floats(rows * cols, 61), rows, cols, type);
        using var packed = PackedWeights.TryPack(weights.Matrix)!;
        var x = TestData.Floats(tokens * cols, 62);
        var plain = new float[tokens * rows];
        var viaPacked = new float[tokens * rows];
        MatMul.Multiply(weights.Matrix, x, plain, tokens);
        MatMul.Multiply(weights.Matrix.WithPacked(packed), x, viaPacked, tokens);
        for (int i = 0; i < plain.Length; i++)
            TestData.Near(plain[i], viaPacked[i], 1e-5 * Math.Abs(plain[i]) + 1e-4, $"{type} y[{i / rows},{i % rows}]");
    }

    [Fact]
    public unsafe void ScalarLevelIgnoresThePackedCopy()
    {
        const int rows = 9, cols = 64;
        using var weights = WeightBuffer.FromFloats(TestData.Floats(rows * cols, 71), rows, cols, GgmlType.Q4_0);
        using var packed = PackedWeights.TryPack(weights.Matrix)!;
        var x = TestData.Floats(3 * cols, 72);
        var plain = new float[3 * rows];
        var viaPacked = new float[3 * rows];
        using var pool = new WorkerPool(1);
        fixed (float* px = x) fixed (float* a = plain) fixed (float* b = viaPacked)
        {
            MatMul.Multiply(weights.Matrix, px, a, 3, pool, KernelLevel.Scalar);
            MatMul.Multiply(weights.Matrix.WithPacked(packed), px, b, 3, pool, KernelLevel.Scalar);
        }
        Assert.Equal(plain, viaPacked);
    }

    [Fact]
    public void OtherTypesAndNonFiniteScalesStayUnpacked()
    {
        using var k = WeightBuffer.FromFloats(TestData.Floats(8 * 256, 81), 8, 256, GgmlType.Q4_K);
        Assert.Null(PackedWeights.TryPack(k.Matrix));
        using var f = WeightBuffer.FromFloats(TestData.Floats(8 * 32, 82), 8, 32, GgmlType.F32);
        Assert.Null(PackedWeights.TryPack(f.Matrix));
        using var q = WeightBuffer.FromFloats(TestData.Floats(8 * 64, 83), 8, 64, GgmlType.Q8_0);
        q.Bytes[(int)q.Matrix.RowBytes * 3 + 34] = 0x00;
        q.Bytes[(int)q.Matrix.RowBytes * 3 + 35] = 0x7c;   // row 3, block 1: scale +Inf
        Assert.Null(PackedWeights.TryPack(q.Matrix));
        using var partial = WeightBuffer.FromFloats(TestData.Floats(5 * 64, 84), 5, 64, GgmlType.Q4_0);   // row-by-row path
        partial.Bytes[(int)partial.Matrix.RowBytes * 4 + 1] = 0x7e;   // row 4, block 0: scale NaN
        Assert.Null(PackedWeights.TryPack(partial.Matrix));
    }

    /// <summary>A copy of 2 MiB or more starts on a huge-page boundary (Linux) and still gives the twin's bits, in
    /// its huge-page interior and in its small-page tail.</summary>
    [Fact]
    public unsafe void LargeCopiesAreHugePageAlignedAndExact()
    {
        const int rows = 1033, cols = 2048;   // 130 groups of 17,408 bytes: 2.16 MiB
        using var weights = WeightBuffer.FromFloats(TestData.Floats(rows * cols, 95), rows, cols, GgmlType.Q8_0);
        using var packed = PackedWeights.TryPack(weights.Matrix)!;
        Assert.True(packed.ByteCount >= MemoryAdvice.HugePageBytes);
        long alignment = MemoryAdvice.UseHugePages ? MemoryAdvice.HugePageBytes : 64;
        Assert.Equal(0, (long)packed.Data % alignment);
        var w = weights.Matrix.WithPacked(packed);
        var x = TestData.Floats(cols, 96);
        var act = new byte[GgmlTypeInfo.RowBytes(GgmlType.Q8_0, cols)];
        ActivationQuant.Row(GgmlType.Q8_0, x, act);
        var y = new float[rows];
        using var pool = new WorkerPool(2);
        var levels = TestData.SimdLevels().Where(l => PackedMatMul.Supports(GgmlType.Q8_0, l)).ToArray();
        Assert.SkipWhen(levels.Length == 0, "this CPU has no AVX-VNNI with AVX-512: Q8_0 weights are never packed for decode here");
        var level = levels[^1];
        fixed (float* px = x) fixed (float* py = y) MatMul.Multiply(w, px, py, 1, pool, level);
        fixed (byte* pa = act)
            foreach (int r in new[] { 0, 7, 500, 968, 1032 })   // 968 on: groups wholly past the first 2 MiB
                Assert.Equal(ReferencePackedDot.Dot(GgmlType.Q8_0, w.RowPointer(r), pa, cols), y[r]);
    }

    [Fact]
    public void PackingIsByteExactAndPadsTheLastGroup()
    {
        const int rows = 11, cols = 64;
        using var weights = WeightBuffer.FromFloats(TestData.Floats(rows * cols, 91), rows, cols, GgmlType.Q4_0);
        using var serial = PackedWeights.TryPack(weights.Matrix)!;
        using var pool = new WorkerPool(2);
        using var parallel = PackedWeights.TryPack(weights.Matrix, pool)!;
        Assert.Equal(2, serial.Groups);
        unsafe
        {
            var a = new ReadOnlySpan<byte>(serial.Data, (int)serial.ByteCount);
            Assert.True(a.SequenceEqual(new ReadOnlySpan<byte>(parallel.Data, (int)parallel.ByteCount)));
            // Row 0, block 1: scale at the group's scale area, byte 4 of the first vector = stored quant byte 4.
            byte* row0 = weights.Matrix.RowPointer(0);
            Assert.Equal(*(ushort*)(row0 + 18), *(ushort*)(serial.Data + 2 * 128 + 8 * 2));
            Assert.Equal(row0[18 + 2 + 4], serial.Data[128 + 32]);
            // Row 11 (padding) of group 1 holds zero quants and a zero scale.
            byte* g1 = serial.Data + serial.GroupBytes;
            for (int k = 0; k < 4; k++) Assert.Equal(0u, *(uint*)(g1 + 32 * k + 4 * 3));
            Assert.Equal(0, *(ushort*)(g1 + 2 * 128 + 2 * 3));
        }
    }

    [Fact]
    public void WithPackedRejectsAMismatch()
    {
        using var a = WeightBuffer.FromFloats(TestData.Floats(8 * 64, 1), 8, 64, GgmlType.Q4_0);
        using var b = WeightBuffer.FromFloats(TestData.Floats(16 * 64, 2), 16, 64, GgmlType.Q4_0);
        using var packed = PackedWeights.TryPack(b.Matrix)!;
        Assert.Throws<ArgumentException>(() => a.Matrix.WithPacked(packed));
    }
}

public class PackedLayoutTests
{
    /// <summary>The documented layout, checked byte by byte against the stored rows: whole groups (vector transpose)
    /// and the padded last group (row by row) alike.</summary>
    [Theory]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q8_0)]
    public unsafe void EveryQuantAndScaleLandsWhereTheLayoutSays(GgmlType type)
    {
        const int rows = 19, cols = 96, blocks = cols / 32;
        using var weights = WeightBuffer.FromFloats(TestData.Floats(rows * cols, 93), rows, cols, type);
        using var packed = PackedWeights.TryPack(weights.Matrix)!;
        int quantBytes = PackedWeights.QuantBytes(type), blockBytes = type == GgmlType.Q4_0 ? 18 : 34;
        for (int g = 0; g < packed.Groups; g++)
        {
            byte* group = packed.Data + g * packed.GroupBytes;
            for (int r = 0; r < 8; r++)
                for (int b = 0; b < blocks; b++)
                {
                    bool real = 8 * g + r < rows;
                    byte* block = real ? weights.Matrix.RowPointer(8 * g + r) + b * blockBytes : null;
                    Assert.Equal(real ? *(ushort*)block : 0, *(ushort*)(group + blocks * quantBytes + 2 * (8 * b + r)));
                    for (int k = 0; k < quantBytes / 32; k++)
                    {
                        uint expected = real ? *(uint*)(block + 2 + 4 * k) ^ (type == GgmlType.Q8_0 ? 0x80808080u : 0) : 0;
                        Assert.Equal(expected, *(uint*)(group + b * quantBytes + 32 * k + 4 * r));
                    }
                }
        }
    }
}
