using Scion.Training.Autograd;

namespace Scion.Training.Tests.Autograd;

public class ZeroedArrayTests
{
    [Fact]
    public void LargeBuffersAreZeroEvenOverReusedMemory()
    {
        // Fill and drop large arrays so the GC has dirty large-object memory to hand out again.
        for (int round = 0; round < 4; round++)
        {
            var dirty = GC.AllocateUninitializedArray<float>(1 << 20);
            dirty.AsSpan().Fill(float.NaN);
            GC.KeepAlive(dirty);
            dirty = null;
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
            foreach (long n in new long[] { 10, 30_000, 1 << 20 })
            {
                var a = Tensor.ZeroedArray(n);
                Assert.Equal(n, a.Length);
                Assert.False(a.AsSpan().ContainsAnyExcept(0f), $"{n} floats");
            }
            Assert.False(Tensor.Zeros(1024, 1024).Data.AsSpan().ContainsAnyExcept(0f));
            Assert.False(new Tensor(new float[4], 4).EnsureGrad().AsSpan().ContainsAnyExcept(0f));
        }
    }
}
