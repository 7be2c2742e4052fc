using System.Text.Json;

namespace Scion.Models.Formats;

/// <summary>
/// A Hugging Face model folder: <c>config.json</c> plus either one <c>model.safetensors</c> or shards listed by
/// <c>model.safetensors.index.json</c> (its <c>weight_map</c> maps each tensor name to a shard file). All shards
/// are mapped and checked on open, so a missing shard or a tensor absent from its shard fails early.
/// </summary>
public sealed class HfModelFolder : IDisposable
{
    public const string ConfigFileName = "config.json";
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly Dictionary<string, HfTensor> _tensors;
    private readonly List<SafetensorsFile> _shards;

    public string Directory { get; }
    public HfConfig Config { get; }
    public IReadOnlyList<SafetensorsFile> Shards => _shards;
    /// <summary>Every tensor name, in shard then header order.</summary>
    public IEnumerable<string> TensorNames => _tensors.Keys;
    public IEnumerable<HfTensor> Tensors => _tensors.Values;

    private HfModelFolder(string directory, HfConfig config, List<SafetensorsFile> shards, Dictionary<string, HfTensor> tensors)
    {
        Directory = directory;
        Config = config;
        _shards = shards;
        _tensors = tensors;
    }

    public static HfModelFolder Open(string directory)
    {
        PathKind.RequireFolder(directory, "Hugging Face model folder");
        string configPath = Path.Combine(directory, ConfigFileName);
        if (!File.Exists(configPath))
            throw new ModelFormatException($"{directory}: no {ConfigFileName}; a Hugging Face model folder needs one.");
        var config = HfConfig.Load(configPath);

        var shards = new List<SafetensorsFile>();
        try
        {
            string indexPath = Path.Combine(directory, IndexFileName);
            string singlePath = Path.Combine(directory, SingleFileName);
            Dictionary<string, HfTensor> tensors;
            if (File.Exists(indexPath))
                tensors = OpenSharded(directory, indexPath, shards);
            else if (File.Exists(singlePath))
            {
                var file = SafetensorsFile.Open(singlePath);
                shards.Add(file);
                tensors = file.Tensors.ToDictionary(t => t.Name, t => new HfTensor(file, t), StringComparer.Ordinal);
            }
            else
                throw new ModelFormatException($"{directory}: neither {SingleFileName} nor {IndexFileName} is present.");
            return new HfModelFolder(directory, config, shards, tensors);
        }
        catch
        {
            foreach (var s in shards) s.Dispose();
            throw;
        }
    }

    public HfTensor? FindTensor(string name) => _tensors.GetValueOrDefault(name);

    public HfTensor RequireTensor(string name) =>
        FindTensor(name) ?? throw new ModelFormatException($"{Directory}: tensor '{name}' is not in the model's safetensors files.");

    public void Dispose()
    {
        foreach (var s in _shards) s.Dispose();
    }

    private static Dictionary<string, HfTensor> OpenSharded(string directory, string indexPath, List<SafetensorsFile> shards)
    {
        var weightMap = new List<(string Tensor, string File)>();
        using (var doc = JsonFields.ParseFile(indexPath))
        {
            var root = JsonFields.Root(doc, indexPath);
            if (root.Get("weight_map") is not { ValueKind: JsonValueKind.Object } map)
                throw new ModelFormatException($"{indexPath}: field 'weight_map' is missing or not an object of tensor name to file name.");
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                    throw new ModelFormatException($"{indexPath}: weight_map entry '{p.Name}' is {JsonFields.Describe(p.Value)}, expected a file name.");
                string file = p.Value.GetString()!;
                // Shards live beside the index; a path that leaves the folder is refused rather than followed.
                if (file.Length == 0 || file != Path.GetFileName(file) || file is "." or "..")
                    throw new ModelFormatException($"{indexPath}: weight_map entry '{p.Name}' names '{file}', expected a plain file name in the same folder.");
                weightMap.Add((p.Name, file));
            }
        }

        var byFile = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        var tensors = new Dictionary<string, HfTensor>(StringComparer.Ordinal);
        foreach (var (tensor, file) in weightMap)
        {
            if (!byFile.TryGetValue(file, out var shard))
            {
                string shardPath = Path.Combine(directory, file);
                if (!File.Exists(shardPath))
                    throw new ModelFormatException($"{indexPath}: shard '{file}' (holding tensor '{tensor}') is missing from {directory}.");
                shard = SafetensorsFile.Open(shardPath);
                shards.Add(shard);
                byFile.Add(file, shard);
            }
            var info = shard.FindTensor(tensor)
                ?? throw new ModelFormatException($"{indexPath}: tensor '{tensor}' is mapped to shard '{file}', but that shard does not contain it.");
            tensors.Add(tensor, new HfTensor(shard, info));
        }
        return tensors;
    }
}
