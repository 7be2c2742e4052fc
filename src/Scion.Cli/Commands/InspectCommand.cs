using System.CommandLine;
using System.Text.Json;
using Scion.Cli.CommandLine;
using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Cli.Commands;

/// <summary>`scion inspect --model PATH [--json]`: architecture, hyper-parameters, tensor types and counts, memory needs.</summary>
internal static class InspectCommand
{
    public static Command Build()
    {
        var model = new ModelOptions(adapter: false);
        var context = Opt.OptionalInt("--context", "context length the KV cache figure is for (default: the model's)", 1, 1 << 24, "-c");
        var json = Opt.Flag("--json", "print one JSON object instead of the table");
        var command = new Command("inspect", "print a model's architecture, tensors and memory needs");
        model.AddTo(command);
        command.With(context, json);
        return command.WithHandler((p, io, _) =>
        {
            string path = model.ModelPath(p, io);
            using var loaded = model.Load(p, io, path);
            return Run(loaded, p.GetValue(context), p.GetValue(json), io);
        });
    }

    private static int Run(Scion.Models.Loading.LoadedModel loaded, int? contextOption, bool json, CliIo io)
    {
        var c = loaded.Model.Config;
        var w = loaded.Model.Weights;
        var matrices = new List<(string Name, WeightMatrix M)>
        {
            ("token_embd", w.TokenEmbedding),
        };
        if (!c.TiedEmbeddings) matrices.Add(("output", w.Output));
        for (int l = 0; l < c.Layers; l++)
            foreach (var slot in Enum.GetValues<LinearSlot>())
                matrices.Add(($"blk.{l}.{slot}", w.Layers[l].Linear(slot)));
        var byType = matrices.GroupBy(m => m.M.Type).OrderBy(g => g.Key)
            .Select(g => (Type: g.Key, Count: g.Count(), Params: g.Sum(m => (long)m.M.Rows * m.M.Cols), Bytes: g.Sum(m => m.M.RowBytes * m.M.Rows)))
            .ToList();
        long normParams = (long)c.Dim * (2 * c.Layers + 1) + (c.QkvBias ? (long)c.Layers * (c.QDim + 2 * c.KvDim) : 0);
        long weightBytes = byType.Sum(t => t.Bytes) + normParams * 4;
        long parameters = byType.Sum(t => t.Params) + normParams;
        int context = contextOption ?? c.ContextLength;
        // The cache keeps K and V per layer for every position (fp32 today).
        long kvBytes = 2L * c.Layers * context * c.KvDim * sizeof(float);
        if (json)
        {
            io.Out.WriteLine(JsonSerializer.Serialize(new
            {
                path = loaded.Path, format = loaded.Format, architecture = c.Architecture, dim = c.Dim, layers = c.Layers,
                heads = c.Heads, kv_heads = c.KvHeads, head_dim = c.HeadDim, ffn_dim = c.FfnDim, vocab = c.Vocab,
                context_length = c.ContextLength, rope_theta = c.RopeTheta, rope_dim = c.RopeDim, rope_style = c.RopeStyle.ToString(),
                rope_scaling = c.RopeScaling?.Type, rms_eps = c.RmsEps, tied_embeddings = c.TiedEmbeddings, qkv_bias = c.QkvBias,
                parameters, weight_bytes = weightBytes, kv_cache_bytes = kvBytes, kv_cache_context = context,
                tensor_types = byType.Select(t => new { type = t.Type.ToString(), matrices = t.Count, parameters = t.Params, bytes = t.Bytes }),
                tokenizer = loaded.Tokenizer is { } tk ? new { kind = tk.Kind, vocab = tk.VocabSize, bos = tk.BosId, eos = tk.EosId } : null,
                chat_template = loaded.ChatTemplate is not null,
            }, JsonOutput.Options));
            return 0;
        }
        var o = io.Out;
        o.WriteLine($"model            {loaded.Path} ({loaded.Format})");
        o.WriteLine($"architecture     {c.Architecture}");
        o.WriteLine($"parameters       {parameters:N0} ({parameters / 1e6:F2} M)");
        o.WriteLine($"dim              {c.Dim}");
        o.WriteLine($"layers           {c.Layers}");
        o.WriteLine($"heads            {c.Heads} (kv heads {c.KvHeads}, head dim {c.HeadDim}{(c.KvHeads < c.Heads ? ", GQA" : "")})");
        o.WriteLine($"ffn dim          {c.FfnDim}");
        o.WriteLine($"vocab            {c.Vocab}");
        o.WriteLine($"context          {c.ContextLength}");
        o.WriteLine($"rope             theta {c.RopeTheta}, dims {c.RopeDim}, {c.RopeStyle}{(c.RopeScaling is { } s ? $", scaling {s.Type} x{s.Factor}" : "")}{(w.RopeFreqFactors is not null ? ", rope_freqs" : "")}");
        o.WriteLine($"rms eps          {c.RmsEps}");
        o.WriteLine($"embeddings       {(c.TiedEmbeddings ? "tied" : "separate output")}{(c.QkvBias ? ", QKV bias" : "")}");
        if (loaded.Tokenizer is { } t) o.WriteLine($"tokenizer        {t.Kind}, {t.VocabSize} tokens, bos {t.BosId}, eos {t.EosId}");
        else o.WriteLine("tokenizer        none in these files");
        o.WriteLine($"chat template    {(loaded.ChatTemplate is null ? "none" : "yes")}");
        o.WriteLine("tensor types:");
        foreach (var t2 in byType) o.WriteLine($"  {t2.Type,-6} {t2.Count,5} matrices {t2.Params,15:N0} params {t2.Bytes / 1048576.0,10:F2} MiB");
        o.WriteLine($"memory           weights {weightBytes / 1048576.0:F2} MiB + KV cache {kvBytes / 1048576.0:F2} MiB at {context} tokens = {(weightBytes + kvBytes) / 1048576.0:F2} MiB");
        return 0;
    }
}
