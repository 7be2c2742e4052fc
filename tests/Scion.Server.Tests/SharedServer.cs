namespace Scion.Server.Tests;

/// <summary>One server for a test class (default options, no keys).</summary>
public sealed class SharedServer : IAsyncLifetime
{
    public ServerFixture Fixture { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Fixture = await ServerFixture.StartAsync();

    public ValueTask DisposeAsync() => Fixture.DisposeAsync();
}
