using System.Text.Json;
using Scion.Cli.CommandLine;
using Scion.Models.Generation;

namespace Scion.Cli.Commands;

/// <summary>`scion generate --model PATH [--adapter DIR] --prompt TEXT [sampling] [--json]`.</summary>
internal static class GenerateCommand
{
    public static int Run(string[] args, CliIo io)
    {
        var a = CliArguments.Parse("generate", args,
            [.. CommonOptions.Model, .. CommonOptions.Sampling, "prompt", "max-tokens", "stop"], ["json", "ignore-eos", "no-bos", "greedy", "parse-special"]);
        string prompt = CommonOptions.Unescape(a.Require("prompt"));
        using var loaded = CommonOptions.LoadModel(a, io);
        var adapter = CommonOptions.LoadAdapter(a, loaded, io);
        var tokenizer = loaded.RequireTokenizer();
        var sampling = a.Flag("greedy") ? Scion.Models.Sampling.SamplingOptions.Greedy with { Seed = a.ULong("seed", 42) } : CommonOptions.ParseSampling(a);
        var options = new GenerationOptions
        {
            MaxTokens = a.Int("max-tokens", 128, 0),
            Sampling = sampling,
            Stop = a.String("stop") is { } stop ? [CommonOptions.Unescape(stop)] : [],
            IgnoreEos = a.Flag("ignore-eos"),
            Adapter = adapter,
        };
        var ids = tokenizer.Encode(prompt, addSpecial: !a.Flag("no-bos"), parseSpecial: a.Flag("parse-special"));
        bool json = a.Flag("json");
        if (!json) io.Out.Write(prompt);
        var result = new TextGenerator(loaded.Model, tokenizer).Generate(ids, options, json ? null : piece =>
        {
            io.Out.Write(piece);
            io.Out.Flush();
        });
        if (json)
        {
            io.Out.WriteLine(JsonSerializer.Serialize(new
            {
                prompt,
                text = result.Text,
                prompt_tokens = result.PromptTokens,
                tokens = result.Tokens,
                finish_reason = result.FinishReason,
                prefill_tokens_per_s = Math.Round(result.PrefillTokensPerSecond, 2),
                decode_tokens_per_s = Math.Round(result.DecodeTokensPerSecond, 2),
            }, JsonOutput.Options));
        }
        else io.Out.WriteLine();
        io.Err.WriteLine($"prompt {result.PromptTokens} tokens at {result.PrefillTokensPerSecond:F1} tokens/s; " +
                         $"generated {result.Tokens.Length} tokens at {result.DecodeTokensPerSecond:F1} tokens/s ({result.FinishReason})");
        return 0;
    }
}
