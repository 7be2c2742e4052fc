using Scion.Models.Llama;

namespace Scion.Models.Adapters;

/// <summary>A LoRA adapter ready to apply, unmerged, to a given base model: modules indexed by [layer, slot].</summary>
public sealed class LoraAdapter
{
    private readonly LoraModule?[,] _modules; // [layers, 7]

    public string Name { get; }
    public int Layers => _modules.GetLength(0);

    public LoraAdapter(string name, int layers)
    {
        Name = name;
        _modules = new LoraModule?[layers, Enum.GetValues<LinearSlot>().Length];
    }

    public LoraModule? this[int layer, LinearSlot slot]
    {
        get => _modules[layer, (int)slot];
        set => _modules[layer, (int)slot] = value;
    }

    /// <summary>Host memory of all modules once prepared (see <see cref="LoraModule.Bytes"/>).</summary>
    public long Bytes => Modules().Sum(m => m.Module.Bytes);

    /// <summary>Derives what the forward needs beyond the loaded tensors (Bᵀ), so the first forward that uses the
    /// adapter does not pay for it on the engine thread.</summary>
    public LoraAdapter Prepare()
    {
        foreach (var (_, _, m) in Modules()) _ = m.BTransposed;
        return this;
    }

    public IEnumerable<(int Layer, LinearSlot Slot, LoraModule Module)> Modules()
    {
        for (int l = 0; l < _modules.GetLength(0); l++)
            foreach (var s in Enum.GetValues<LinearSlot>())
                if (_modules[l, (int)s] is { } m) yield return (l, s, m);
    }
}
