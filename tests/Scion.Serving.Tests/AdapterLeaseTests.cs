using Scion.Models.Adapters;
using Scion.Serving.Adapters;

namespace Scion.Serving.Tests;

public class AdapterLeaseTests
{
    [Fact]
    public void DisposingTwiceReleasesOnce()
    {
        int released = 0;
        var lease = new AdapterLease(new LoraAdapter("a", 2), () => released++);
        lease.Dispose();
        lease.Dispose();
        Assert.Equal(1, released);
        Assert.Equal("a", lease.Name);
    }
}
