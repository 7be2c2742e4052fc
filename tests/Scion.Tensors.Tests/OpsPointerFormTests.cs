namespace Scion.Tensors.Tests;

/// <summary>The pointer forms of Dot and Axpy (used in attention's inner loop) do the span forms' arithmetic exactly.</summary>
public class OpsPointerFormTests
{
    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(64)]
    [InlineData(77)]
    [InlineData(128)]
    public unsafe void PointerFormsEqualSpanForms(int n)
    {
        var a = TestData.Floats(n, 1);
        var b = TestData.Floats(n, 2);
        var y1 = TestData.Floats(n, 3);
        var y2 = (float[])y1.Clone();
        fixed (float* pa = a, pb = b, py = y2)
        {
            Assert.Equal(Ops.Dot(a, b), Ops.Dot(pa, pb, n));
            Ops.Axpy(0.37f, a, y1);
            Ops.Axpy(0.37f, pa, py, n);
        }
        Assert.Equal(y1, y2);
    }
}
