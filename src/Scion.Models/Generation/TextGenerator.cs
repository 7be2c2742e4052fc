using System.Diagnostics;
using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Models.Sampling;
using Scion.Models.Tokenization;

namespace Scion.Models.Generation;

/// <summary>Prompt in, text out, for one sequence: prefill, then decode token by token through the KV cache.</summary>
public sealed class TextGenerator(LlamaModel model, Tokenizer tokenizer)
{
    public GenerationResult Generate(int[] prompt, GenerationOptions options, Action<string>? onText = null, CancellationToken cancel = default)
    {
        if (prompt.Length == 0) throw new ArgumentException("The prompt has no tokens.");
        if (options.MaxTokens < 0) throw new ArgumentException($"max tokens must be >= 0, got {options.MaxTokens}.");
        foreach (int t in prompt)
            if ((uint)t >= (uint)model.Config.Vocab) throw new ArgumentException($"Prompt token {t} is outside the vocabulary (0..{model.Config.Vocab - 1}).");
        int context = model.Config.ContextLength;
        if (prompt.Length > context)
            throw new ArgumentException($"The prompt has {prompt.Length} tokens, more than the model's context of {context}.");
        int budget = Math.Min(options.MaxTokens, context - prompt.Length);
        var cache = model.NewCache(prompt.Length + Math.Max(budget, 1));
        var sampler = new Sampler(options.Sampling);
        // The reply continues the prompt, so its first "▁word" keeps its space.
        var decoder = new StreamingDecoder(tokenizer, skipSpecial: true, atSequenceStart: false);
        var stops = new StopStringMatcher(options.Stop);
        var history = new List<int>(prompt);
        var generated = new List<int>();
        var text = new System.Text.StringBuilder();
        void Emit(string piece)
        {
            if (piece.Length == 0) return;
            text.Append(piece);
            onText?.Invoke(piece);
        }

        var clock = Stopwatch.StartNew();
        var logits = model.Forward(new ForwardBatch().AddSequence(0, prompt, 0, options.Adapter), cache);
        double prefill = clock.Elapsed.TotalSeconds;
        clock.Restart();
        string reason = "length";
        for (int i = 0; i < budget; i++)
        {
            if (cancel.IsCancellationRequested) { reason = "cancelled"; break; }
            int next = sampler.Sample(logits, history);
            if (!options.IgnoreEos && tokenizer.IsEndOfGeneration(next)) { reason = "stop"; break; }
            generated.Add(next);
            history.Add(next);
            Emit(stops.Push(decoder.Push(next)));
            if (stops.Stopped) { reason = "stop"; break; }
            if (i + 1 < budget)
                logits = model.Forward(new ForwardBatch().Add(0, next, prompt.Length + i, true, options.Adapter), cache);
        }
        if (!stops.Stopped) Emit(stops.Push(decoder.Flush()));
        Emit(stops.Flush());
        return new GenerationResult(text.ToString(), [.. generated], reason, prompt.Length, prefill, clock.Elapsed.TotalSeconds);
    }
}
