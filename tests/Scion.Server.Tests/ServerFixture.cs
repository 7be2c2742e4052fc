using System.ClientModel;
using Scion.Models.Adapters;
using Scion.Models.Loading;
using Scion.Serving.Engine;
using Scion.Testing;
using Scion.Tensors;
using OpenAI;

namespace Scion.Server.Tests;

/// <summary>The real server on 127.0.0.1, port 0, serving the bundled stories260K with one random PEFT adapter
/// ("tiny-lora") registered from an adapters folder.</summary>
public sealed class ServerFixture : IAsyncDisposable
{
    public const string ModelId = "stories260K";
    public const string AdapterName = "tiny-lora";
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private ServerFixture(ScionServer server, string adaptersDir)
    {
        Server = server;
        AdaptersDir = adaptersDir;
        Http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = Timeout };
    }

    public ScionServer Server { get; }
    public ModelHost Host => Server.State.Host!;
    public string AdaptersDir { get; }
    public HttpClient Http { get; }
    public string Url => Server.Url;

    /// <param name="dataDir">A data folder turns the files and fine-tuning APIs on.</param>
    public static async Task<ServerFixture> StartAsync(ServerOptions? options = null, EngineOptions? engine = null, string? dataDir = null)
    {
        string adapters = Path.Combine(Path.GetTempPath(), $"scion-server-{Guid.NewGuid():N}");
        Directory.CreateDirectory(adapters);
        var loaded = ModelLoader.Load(BundledModel.Stories260K);
        WriteAdapter(loaded, Path.Combine(adapters, AdapterName), seed: 5);
        var server = new ScionServer((options ?? new ServerOptions()) with { Port = 0, AdaptersDir = adapters });
        await server.StartAsync();
        server.SetModel(ModelHostFactory.Create(loaded, new ModelHostSettings
        {
            ModelPath = BundledModel.Stories260K,
            ServedModelName = ModelId,
            AdaptersDir = adapters,
            Engine = engine ?? new EngineOptions(),
            DataDir = dataDir,
        }));
        return new ServerFixture(server, adapters);
    }

    public OpenAIClient Client(string key = "unused") =>
        new(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(Url + "/v1"), NetworkTimeout = Timeout });

    /// <summary>A random rank-4 adapter on q, v and o of every layer, strong enough to change greedy text.</summary>
    public static void WriteAdapter(LoadedModel loaded, string folder, ulong seed)
    {
        var c = loaded.Model.Config;
        var rng = new Xoshiro256(seed);
        float[] Gaussian(int n) { var v = new float[n]; for (int i = 0; i < n; i++) v[i] = (float)rng.NextGaussian() * 0.5f; return v; }
        string[] targets = [LoraModules.Q, LoraModules.V, LoraModules.O];
        var pairs = new List<LoraTensorPair>();
        for (int l = 0; l < c.Layers; l++)
            foreach (var module in targets)
            {
                var (inDim, outDim) = module switch
                {
                    LoraModules.Q => (c.Dim, c.QDim),
                    LoraModules.V => (c.Dim, c.KvDim),
                    _ => (c.QDim, c.Dim),
                };
                pairs.Add(new LoraTensorPair { Layer = l, Module = module, Rank = 4, In = inDim, Out = outDim, A = Gaussian(4 * inDim), B = Gaussian(outDim * 4) });
            }
        PeftAdapterFiles.Save(folder, new PeftAdapterConfig { R = 4, LoraAlpha = 8, TargetModules = targets }, pairs);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        try { Directory.Delete(AdaptersDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
