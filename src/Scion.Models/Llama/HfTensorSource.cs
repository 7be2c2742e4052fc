using Scion.Models.Formats;

namespace Scion.Models.Llama;

/// <summary>Tensors of a Hugging Face folder under GGUF slot names (via <see cref="TensorNames.GgufToHf"/>).</summary>
internal sealed unsafe class HfTensorSource(HfModelFolder folder) : ITensorSource
{
    private static readonly Dictionary<string, string> Patterns = BuildPatterns();

    public HfModelFolder Folder { get; } = folder;
    public string Path => Folder.Directory;

    public bool TryGet(string slotName, out TensorView view)
    {
        view = default;
        if (!TryMap(slotName, out string hfName)) return false;
        var t = Folder.FindTensor(hfName);
        if (t is null) return false;
        // Safetensors shapes are [out, in] (slowest first); slots use ggml order (row length first).
        view = new TensorView(hfName, t.Data, t.Type, t.Shape.Reverse().ToArray());
        return true;
    }

    internal static bool TryMap(string slotName, out string hfName)
    {
        hfName = "";
        // "blk.{n}.rest" → pattern lookup with the layer substituted back.
        if (slotName.StartsWith("blk.", StringComparison.Ordinal))
        {
            int dot = slotName.IndexOf('.', 4);
            if (dot < 0 || !int.TryParse(slotName.AsSpan(4, dot - 4), out int layer)) return false;
            if (!Patterns.TryGetValue("blk.{0}" + slotName[dot..], out var pattern)) return false;
            hfName = TensorNames.Layer(pattern, layer);
            return true;
        }
        if (!Patterns.TryGetValue(slotName, out var name)) return false;
        hfName = name;
        return true;
    }

    private static Dictionary<string, string> BuildPatterns() => new(TensorNames.GgufToHf, StringComparer.Ordinal);

    public void Dispose() => Folder.Dispose();
}
