using System.Text.Json;
using Scion.Models.Formats;
using Scion.Models.Llama;
using Scion.Models.Tokenization;

namespace Scion.Models.Loading;

/// <summary>
/// Opens a model from a GGUF file, a Hugging Face folder or a llama2.c checkpoint, deciding by what the path holds:
/// a folder is a Hugging Face folder; a file is GGUF when it starts with the GGUF magic, and otherwise is tried by
/// its extension (.gguf: reported as not GGUF; .safetensors/.json: the folder is needed) and then as llama2.c, so
/// an error names the format the file was taken for instead of quoting a field of the wrong format.
/// </summary>
public static class ModelLoader
{
    public static LoadedModel Load(string path, string? tokenizerPath = null)
    {
        if (Directory.Exists(path))
        {
            if (!File.Exists(System.IO.Path.Combine(path, HfModelFolder.ConfigFileName)))
                throw new ModelFormatException($"{path}: is a folder without config.json; a model folder is a Hugging Face folder{FolderHint(path)}.");
            var model = LlamaModel.LoadHuggingFace(path);
            return Finish(model, path, tokenizerPath, () => TryHfTokenizer(path), ReadHfChatTemplate(path));
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such model file or folder.", path);
        if (IsGguf(path) || HasExtension(path, ".gguf"))
        {
            var model = LlamaModel.LoadGguf(path);
            var md = model.GgufMetadata!;
            return Finish(model, path, tokenizerPath,
                () => md.Contains("tokenizer.ggml.model") ? Tokenizer.FromGguf(md) : null,
                md.GetString("tokenizer.chat_template"));
        }
        RefuseFolderParts(path);
        {
            var model = LoadLlama2c(path);
            return Finish(model, path, tokenizerPath, () => FindLlama2cTokenizer(path, model.Config.Vocab), null);
        }
    }

    /// <summary>What the folder holds instead, when that tells the user what they meant.</summary>
    private static string FolderHint(string folder)
    {
        if (File.Exists(System.IO.Path.Combine(folder, Adapters.PeftAdapterFiles.ConfigFileName)))
            return " (this one holds a PEFT adapter: pass it as the adapter, with its base model as the model)";
        var models = Directory.EnumerateFiles(folder, "*.gguf").Select(System.IO.Path.GetFileName).Order(StringComparer.Ordinal).Take(3).ToList();
        return models.Count > 0 ? $" (this one holds {string.Join(", ", models)}: give the file itself)" : "";
    }

    private static bool HasExtension(string path, string extension) =>
        System.IO.Path.GetExtension(path).Equals(extension, StringComparison.OrdinalIgnoreCase);

    /// <summary>Files that belong to a Hugging Face folder: the folder is the model, not the file.</summary>
    private static void RefuseFolderParts(string path)
    {
        if (HasExtension(path, ".safetensors") || HasExtension(path, ".json"))
            throw new ModelFormatException(
                $"{path}: a {System.IO.Path.GetExtension(path)} file is part of a Hugging Face model; give the folder that holds it with config.json.");
    }

    /// <summary>A .bin is a llama2.c checkpoint by name; any other file is one only if its header says so.</summary>
    private static LlamaModel LoadLlama2c(string path)
    {
        if (HasExtension(path, ".bin")) return LlamaModel.LoadLlama2c(path);
        try
        {
            return LlamaModel.LoadLlama2c(path);
        }
        catch (ModelFormatException e) when (e.Message.Contains(Llama2cCheckpoint.NotACheckpoint, StringComparison.Ordinal))
        {
            throw new ModelFormatException(
                $"{path}: not a model file: not a GGUF file (it does not start with \"GGUF\") and {e.Message[(e.Message.IndexOf(Llama2cCheckpoint.NotACheckpoint, StringComparison.Ordinal))..]}", e);
        }
    }

    /// <summary>A tokenizer from a GGUF file, a folder with tokenizer.json, or a llama2.c tokenizer.bin.</summary>
    public static Tokenizer LoadTokenizer(string path, int vocabSize)
    {
        if (Directory.Exists(path)) return TryHfTokenizer(path) ?? throw new ModelFormatException($"{path}: no tokenizer.json in this folder.");
        PathKind.RequireFile(path, "tokenizer (GGUF file, tokenizer.bin, or a folder with tokenizer.json)");
        if (IsGguf(path) || HasExtension(path, ".gguf"))
        {
            using var f = GgufFile.Open(path);
            return Tokenizer.FromGguf(f.Metadata);
        }
        if (HasExtension(path, ".json"))
            throw new ModelFormatException($"{path}: give the folder that holds tokenizer.json, not the file itself.");
        return Tokenizer.FromLlama2c(path, vocabSize);
    }

    private static LoadedModel Finish(LlamaModel model, string path, string? tokenizerPath, Func<Tokenizer?> own, string? template)
    {
        try
        {
            var tokenizer = tokenizerPath is not null ? LoadTokenizer(tokenizerPath, model.Config.Vocab) : own();
            if (tokenizer is not null && tokenizer.VocabSize > model.Config.Vocab)
                throw new ModelFormatException($"{path}: the tokenizer has {tokenizer.VocabSize} tokens but the model's vocabulary is {model.Config.Vocab}.");
            return new LoadedModel(model, tokenizer, template, path);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public static bool IsGguf(string path)
    {
        if (!File.Exists(path)) return false;
        using var fs = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return fs.Read(magic) == 4 && magic.SequenceEqual("GGUF"u8);
    }

    private static Tokenizer? TryHfTokenizer(string folder)
    {
        string json = System.IO.Path.Combine(folder, "tokenizer.json");
        return File.Exists(json) ? Tokenizer.FromHuggingFace(folder) : null;
    }

    private static string? ReadHfChatTemplate(string folder)
    {
        string cfg = System.IO.Path.Combine(folder, "tokenizer_config.json");
        if (!File.Exists(cfg)) return null;
        using var doc = JsonFields.ParseFile(cfg);
        if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("chat_template", out var t)) return null;
        if (t.ValueKind == JsonValueKind.String) return t.GetString();
        // A list of named templates: take "default".
        if (t.ValueKind == JsonValueKind.Array)
            foreach (var e in t.EnumerateArray())
                if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() == "default")
                    return e.TryGetProperty("template", out var body) && body.ValueKind == JsonValueKind.String ? body.GetString()
                        : throw new ModelFormatException($"{cfg}: chat_template entry \"default\" has no \"template\" string.");
        return null;
    }

    private static Tokenizer? FindLlama2cTokenizer(string modelPath, int vocab)
    {
        string dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(modelPath))!;
        string named = System.IO.Path.Combine(dir, "tokenizer.bin");
        if (File.Exists(named)) return Tokenizer.FromLlama2c(named, vocab);
        var candidates = Directory.GetFiles(dir, "tok*.bin");
        return candidates.Length == 1 ? Tokenizer.FromLlama2c(candidates[0], vocab) : null;
    }
}
