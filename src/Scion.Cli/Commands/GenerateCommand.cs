using System.CommandLine;
using System.Text.Json;
using Scion.Cli.CommandLine;
using Scion.Models.Generation;
using Scion.Models.Sampling;

namespace Scion.Cli.Commands;

/// <summary>`scion generate [--model PATH] [--adapter DIR] --prompt TEXT [sampling] [--json]`: one completion, streamed to stdout.</summary>
internal static class GenerateCommand
{
    public static Command Build()
    {
        var model = new ModelOptions(kvCache: true);
        var sampling = new SamplingOptionSet();
        var prompt = Opt.RequiredText("--prompt", "the prompt (a literal \\n is a newline)", "TEXT", "-p");
        var maxTokens = Opt.Int("--max-tokens", 128, "most tokens to generate", 0, 1 << 24, "-n");
        var context = Opt.OptionalInt("--context", "KV cache size in tokens: prompt plus generated (default: the model's context length)", 1, 1 << 24, "-c");
        var stop = new Option<string[]>("--stop") { Description = "stop when the text contains this (repeatable; every one counts)", HelpName = "TEXT" };
        var json = Opt.Flag("--json", "print one JSON object (text, tokens, finish reason, speeds) instead of the text");
        var ignoreEos = Opt.Flag("--ignore-eos", "keep generating past end-of-generation tokens");
        var noBos = Opt.Flag("--no-bos", "do not add the BOS token before the prompt");
        var greedy = Opt.Flag("--greedy", "greedy decoding (same as --temperature 0 --top-k 0 --top-p 1 --min-p 0)");
        var parseSpecial = Opt.Flag("--parse-special", "parse special-token text in the prompt (e.g. <|im_start|>) as those tokens");

        var command = new Command("generate", "generate text from a prompt");
        model.AddTo(command);
        command.With(prompt, maxTokens, context, stop);
        sampling.AddTo(command);
        command.With(greedy, ignoreEos, noBos, parseSpecial, json);
        return command.WithHandler((p, io, cancel) =>
        {
            string text = Text.Unescape(p.GetValue(prompt)!);
            string path = model.ModelPath(p, io);
            bool isGreedy = p.GetValue(greedy) || p.GetValue(sampling.Temperature) == 0;
            // The seed matters only when sampling; llama.cpp prints it then, and so do we.
            ulong seed = isGreedy ? p.GetValue(sampling.Seed) ?? 42 : sampling.ResolveSeed(p, io);
            var samplingOptions = p.GetValue(greedy) ? SamplingOptions.Greedy with { Seed = seed } : sampling.Parse(p, seed);

            using var loaded = model.Load(p, io, path);
            var adapter = model.LoadAdapter(p, loaded, io);
            var tokenizer = loaded.RequireTokenizer();
            var ids = tokenizer.Encode(text, addSpecial: !p.GetValue(noBos), parseSpecial: p.GetValue(parseSpecial));
            int max = p.GetValue(maxTokens);
            if (p.GetValue(context) is { } window)
            {
                if (window > loaded.Model.Config.ContextLength)
                    throw new UsageException($"--context {window} is more than the model's context length of {loaded.Model.Config.ContextLength}.");
                if (ids.Length >= window) throw new ArgumentException($"the prompt has {ids.Length} tokens, which leaves no room in --context {window}.");
                max = Math.Min(max, window - ids.Length);
            }
            var options = new GenerationOptions
            {
                MaxTokens = max,
                Sampling = samplingOptions,
                Stop = [.. (p.GetValue(stop) ?? []).Select(Text.Unescape)],
                IgnoreEos = p.GetValue(ignoreEos),
                Adapter = adapter,
            };
            bool asJson = p.GetValue(json);
            if (!asJson) io.Out.Write(text);
            var result = new TextGenerator(loaded.Model, tokenizer).Generate(ids, options, asJson ? null : piece =>
            {
                io.Out.Write(piece);
                io.Out.Flush();
            }, cancel);
            if (asJson)
            {
                io.Out.WriteLine(JsonSerializer.Serialize(new
                {
                    prompt = text,
                    text = result.Text,
                    prompt_tokens = result.PromptTokens,
                    tokens = result.Tokens,
                    finish_reason = result.FinishReason,
                    seed,
                    prefill_tokens_per_s = Math.Round(result.PrefillTokensPerSecond, 2),
                    decode_tokens_per_s = Math.Round(result.DecodeTokensPerSecond, 2),
                }, JsonOutput.Options));
            }
            else io.Out.WriteLine();
            io.Err.WriteLine($"prompt {result.PromptTokens} tokens at {result.PrefillTokensPerSecond:F1} tokens/s; " +
                             $"generated {result.Tokens.Length} tokens at {result.DecodeTokensPerSecond:F1} tokens/s ({result.FinishReason})");
            return result.FinishReason == "cancelled" ? ExitCodes.Interrupted : ExitCodes.Success;
        });
    }
}
