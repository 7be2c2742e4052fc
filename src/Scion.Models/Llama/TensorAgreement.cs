using System.Globalization;
using System.Text.RegularExpressions;
using Scion.Models.Formats;

namespace Scion.Models.Llama;

/// <summary>
/// Checks that a configuration's layer count and attention-bias setting agree with the tensors the file holds,
/// before the weights are resolved. Without it, tensors of layers beyond the count were silently ignored, a missing
/// layer was reported as one missing tensor, and q/k/v biases were applied or dropped by their presence whatever
/// the configuration said.
/// </summary>
internal static partial class TensorAgreement
{
    [GeneratedRegex(@"^blk\.(\d+)\.", RegexOptions.CultureInvariant)]
    private static partial Regex GgufLayer();

    [GeneratedRegex(@"^model\.layers\.(\d+)\.", RegexOptions.CultureInvariant)]
    private static partial Regex HfLayer();

    private static readonly string[] BiasSlots = [TensorNames.AttnQBias, TensorNames.AttnKBias, TensorNames.AttnVBias];

    public static void CheckGguf(GgufFile file, LlamaConfig c)
    {
        // GGUF has no bias flag: the first layer's q bias decides, and every layer must then agree with it.
        string firstBias = TensorNames.Layer(TensorNames.AttnQBias, 0);
        string biasSetting = c.QkvBias
            ? $"tensor '{firstBias}' is present (so every layer needs q/k/v biases)"
            : $"tensor '{firstBias}' is absent (so no layer may have q/k/v biases)";
        Check(file.Path, c, file.Tensors.Select(t => t.Name), GgufLayer(), slot => slot, $"metadata '{c.Architecture}.block_count'", biasSetting);
    }

    public static void CheckHf(HfModelFolder folder, HfConfig hf, LlamaConfig c, string configPath)
    {
        var names = folder.TensorNames.ToList();
        string biasSetting = hf.AttentionBias ? "field 'attention_bias' is true"
            : c.QkvBias ? $"{c.Architecture} models have q/k/v biases"
            : "field 'attention_bias' is false";
        Check(configPath, c, names, HfLayer(), slot => HfTensorSource.TryMap(slot, out var hfName) ? hfName : slot,
            "field 'num_hidden_layers'", biasSetting);
        // transformers gives o_proj a bias too under attention_bias; the forward has no place for it, so it is refused
        // rather than dropped.
        if (names.FirstOrDefault(n => HfLayer().IsMatch(n) && n.EndsWith(".self_attn.o_proj.bias", StringComparison.Ordinal)) is { } oBias)
            throw new ModelFormatException($"{configPath}: tensor '{oBias}' is an output-projection bias, which is not supported (only q/k/v biases are).");
    }

    private static void Check(string source, LlamaConfig c, IEnumerable<string> names, Regex layerOf, Func<string, string> storedName,
        string layersField, string biasSetting)
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        var firstOfLayer = new SortedDictionary<long, string>();
        foreach (var name in names)
        {
            present.Add(name);
            var m = layerOf.Match(name);
            if (!m.Success) continue;
            // A number too long for a long is beyond any layer count.
            long layer = long.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out long l) ? l : long.MaxValue;
            firstOfLayer.TryAdd(layer, name);
        }

        if (firstOfLayer.Keys.FirstOrDefault(l => l >= c.Layers, -1) is var extra and >= 0)
            throw new ModelFormatException(
                $"{source}: {layersField} is {c.Layers}, but tensor '{firstOfLayer[extra]}' belongs to layer {extra} " +
                $"(the tensors cover {Layers(firstOfLayer.Keys)}); the configuration and the weights disagree.");
        for (int layer = 0; layer < c.Layers; layer++)
            if (!firstOfLayer.ContainsKey(layer))
                throw new ModelFormatException(
                    $"{source}: {layersField} is {c.Layers}, but no tensor belongs to layer {layer} " +
                    $"(the tensors cover {Layers(firstOfLayer.Keys)}); the configuration and the weights disagree.");

        for (int layer = 0; layer < c.Layers; layer++)
            foreach (var slot in BiasSlots)
            {
                string name = storedName(TensorNames.Layer(slot, layer));
                if (present.Contains(name) != c.QkvBias)
                    throw new ModelFormatException(
                        $"{source}: {biasSetting}, but tensor '{name}' is {(c.QkvBias ? "missing" : "present")}; the configuration and the weights disagree.");
            }
    }

    /// <summary>"layers 0 to 3", "layers 0 to 1 and 3", "no layer".</summary>
    private static string Layers(IEnumerable<long> layers)
    {
        var runs = new List<string>();
        long? start = null, end = null;
        foreach (long l in layers)
        {
            if (end is { } e && l == e + 1) { end = l; continue; }
            if (start is { } s) runs.Add(s == end ? $"{s}" : $"{s} to {end}");
            start = end = l;
        }
        if (start is { } s2) runs.Add(s2 == end ? $"{s2}" : $"{s2} to {end}");
        return runs.Count == 0 ? "no layer" : (runs.Count == 1 && !runs[0].Contains(' ') ? "layer " : "layers ") + string.Join(", ", runs);
    }
}
