using System.CommandLine;
using System.Text;
using System.Text.Json;
using Scion.Cli.CommandLine;
using Scion.Models.KvCache;
using Scion.Models.Llama;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion logits --model PATH [--adapter DIR] --prompts-file FILE --top K --greedy N`: one JSON line per prompt in the
/// format of ../shared/golden/*.jsonl (prompt ids, per-position mean/std and top-K ids and logits, N greedy ids).
/// </summary>
internal static class LogitsCommand
{
    public static Command Build()
    {
        var model = new ModelOptions(kvCache: true);
        var prompts = Opt.RequiredText("--prompts-file", "text file with one prompt per line (a literal \\n is a newline)", "FILE");
        var topOption = Opt.Int("--top", 20, "how many of the largest logits to list per position", 1);
        var greedyOption = Opt.Int("--greedy", 16, "greedy continuation tokens to list per prompt");
        var command = new Command("logits", "write top logits and greedy continuations as JSON lines (golden format)");
        model.AddTo(command);
        command.With(prompts, topOption, greedyOption);
        return command.WithHandler((p, io, cancel) =>
        {
            string file = PathChecks.ExistingFile(p.GetValue(prompts)!, "--prompts-file", "prompts");
            string path = model.ModelPath(p, io);
            using var loaded = model.Load(p, io, path);
            return Run(loaded, model.LoadAdapter(p, loaded, io), file, p.GetValue(topOption), p.GetValue(greedyOption), io, cancel);
        });
    }

    private static int Run(Scion.Models.Loading.LoadedModel loaded, Scion.Models.Adapters.LoraAdapter? adapter, string file, int top, int greedy, CliIo io, CancellationToken cancel)
    {
        var tokenizer = loaded.RequireTokenizer();
        var model = loaded.Model;
        int vocab = model.Config.Vocab;
        top = Math.Min(top, vocab);
        foreach (var line in File.ReadLines(file))
        {
            cancel.ThrowIfCancellationRequested();
            if (line.Length == 0) continue;
            string prompt = Text.Unescape(line);
            var ids = tokenizer.Encode(prompt, addSpecial: true);
            if (ids.Length == 0) throw new ArgumentException($"{file}: prompt '{line}' has no tokens.");
            if (ids.Length + greedy > model.Config.ContextLength)
                throw new ArgumentException($"{file}: prompt '{line}' needs {ids.Length + greedy} positions, more than the context of {model.Config.ContextLength}.");
            var cache = model.NewCache(ids.Length + greedy + 1);
            var logits = model.Forward(new ForwardBatch().AddSequence(0, ids, 0, adapter, allLogits: true), cache);

            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JsonOutput.Options.Encoder }))
            {
                w.WriteStartObject();
                w.WriteString("prompt", prompt);
                w.WriteStartArray("tokens");
                foreach (var id in ids) w.WriteNumberValue(id);
                w.WriteEndArray();
                w.WriteStartArray("top");
                for (int p = 0; p < ids.Length; p++) WriteTop(w, logits.AsSpan(p * vocab, vocab), top);
                w.WriteEndArray();
                w.WriteStartArray("greedy");
                int next = ArgMax(logits.AsSpan((ids.Length - 1) * vocab, vocab));
                for (int i = 0; i < greedy; i++)
                {
                    w.WriteNumberValue(next);
                    if (i + 1 < greedy)
                        next = ArgMax(model.Forward(new ForwardBatch().Add(0, next, ids.Length + i, true, adapter), cache));
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            io.Out.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
        }
        return 0;
    }

    private static void WriteTop(Utf8JsonWriter w, ReadOnlySpan<float> row, int k)
    {
        double sum = 0, sq = 0;
        foreach (var v in row) { sum += v; sq += (double)v * v; }
        double mean = sum / row.Length;
        double std = Math.Sqrt(Math.Max(0, sq / row.Length - mean * mean));
        var ids = TopK(row, k);
        w.WriteStartObject();
        w.WriteNumber("mean", (float)mean);
        w.WriteNumber("std", (float)std);
        w.WriteStartArray("ids");
        foreach (var id in ids) w.WriteNumberValue(id);
        w.WriteEndArray();
        w.WriteStartArray("logits");
        foreach (var id in ids) w.WriteNumberValue(row[id]);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>Indices of the k largest values, largest first (ties by lower id).</summary>
    internal static int[] TopK(ReadOnlySpan<float> row, int k)
    {
        var best = new List<int>(k + 1);
        for (int i = 0; i < row.Length; i++)
        {
            if (best.Count == k && row[i] <= row[best[^1]]) continue;
            int at = best.Count;
            while (at > 0 && row[best[at - 1]] < row[i]) at--;
            best.Insert(at, i);
            if (best.Count > k) best.RemoveAt(k);
        }
        return [.. best];
    }

    private static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
