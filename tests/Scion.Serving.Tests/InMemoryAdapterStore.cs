using Scion.Models.Adapters;
using Scion.Models.Llama;
using Scion.Serving.Adapters;
using Scion.Tensors;

namespace Scion.Serving.Tests;

/// <summary>A test store: adapters held in memory, leases counted, and an optional gate that holds loads back so a
/// test can see the engine keep running while an adapter "loads".</summary>
internal sealed class InMemoryAdapterStore : IAdapterStore
{
    private readonly Dictionary<string, LoraAdapter> _adapters = [];
    private int _leases;

    public TaskCompletionSource? Gate { get; set; }
    public int ActiveLeases => Volatile.Read(ref _leases);

    public void Add(LoraAdapter adapter) => _adapters[adapter.Name] = adapter;

    public async ValueTask<AdapterLease> AcquireAsync(string name, CancellationToken cancellationToken = default)
    {
        if (Gate is { } gate) await gate.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!_adapters.TryGetValue(name, out var adapter)) throw new AdapterException($"Adapter '{name}' is not registered.");
        Interlocked.Increment(ref _leases);
        return new AdapterLease(adapter, () => Interlocked.Decrement(ref _leases));
    }

    /// <summary>A rank-r adapter on q, v and o with random nonzero A and B, so it changes the output.</summary>
    public static LoraAdapter RandomAdapter(string name, LlamaConfig c, ulong seed, int rank = 4)
    {
        var rng = new Xoshiro256(seed);
        var adapter = new LoraAdapter(name, c.Layers);
        LoraModule Module(int input, int output)
        {
            var a = new float[rank * input];
            var b = new float[output * rank];
            for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextGaussian() / MathF.Sqrt(input);
            for (int i = 0; i < b.Length; i++) b[i] = (float)rng.NextGaussian() * 0.5f;
            return new LoraModule { Rank = rank, In = input, Out = output, A = a, B = b, Scale = 2f / rank };
        }
        for (int l = 0; l < c.Layers; l++)
        {
            adapter[l, LinearSlot.Q] = Module(c.Dim, c.QDim);
            adapter[l, LinearSlot.V] = Module(c.Dim, c.KvDim);
            adapter[l, LinearSlot.O] = Module(c.QDim, c.Dim);
        }
        return adapter;
    }
}
