using Scion.Models.Adapters;
using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Models.Sampling;
using Scion.Models.Tokenization;
using Scion.Models.Tokenization.Templates;

namespace Scion.Models.Generation;

/// <summary>
/// A multi-turn conversation: messages rendered through the model's chat template, and the KV cache kept between
/// turns so each turn only prefills what changed since the longest common token prefix.
/// </summary>
public sealed class ChatSession
{
    /// <summary>Used when a model ships no template (base models): ChatML, as llama.cpp falls back to.</summary>
    public const string FallbackTemplate =
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private readonly LlamaModel _model;
    private readonly Tokenizer _tokenizer;
    private readonly ChatTemplate _template;
    private readonly PagedKvCache _cache;
    private readonly List<(string Role, string Content)> _messages = [];
    private readonly List<int> _cached = []; // tokens whose keys and values are in the cache, in order
    private readonly string? _system;

    public LoraAdapter? Adapter { get; init; }
    public IReadOnlyList<(string Role, string Content)> Messages => _messages;
    public int CachedTokens => _cached.Count;

    public ChatSession(LlamaModel model, Tokenizer tokenizer, string? template, string? system = null)
    {
        _model = model;
        _tokenizer = tokenizer;
        _template = ChatTemplate.Parse(template ?? FallbackTemplate);
        _cache = new PagedKvCache(model.Config, model.Config.ContextLength);
        _system = system;
        Reset();
    }

    public void Reset()
    {
        _messages.Clear();
        if (_system is not null) _messages.Add(("system", _system));
    }

    /// <summary>Adds a user turn and streams the reply; the reply joins the history even when cancelled part-way.</summary>
    public GenerationResult Send(string userText, GenerationOptions options, Action<string>? onText = null, CancellationToken cancel = default)
    {
        _messages.Add(("user", userText));
        var prompt = Encode(addGenerationPrompt: true);
        int context = _model.Config.ContextLength;
        if (prompt.Length >= context)
        {
            _messages.RemoveAt(_messages.Count - 1);
            throw new ArgumentException($"The conversation needs {prompt.Length} tokens, more than the model's context of {context}; use /reset.");
        }
        int common = 0;
        while (common < _cached.Count && common < prompt.Length - 1 && _cached[common] == prompt[common]) common++;
        _cache.Truncate(0, common);
        _cached.RemoveRange(common, _cached.Count - common);

        var sampler = new Sampler(options.Sampling);
        var decoder = new StreamingDecoder(_tokenizer, skipSpecial: true, atSequenceStart: false);
        var stops = new StopStringMatcher(options.Stop);
        var text = new System.Text.StringBuilder();
        var generated = new List<int>();
        var history = new List<int>(prompt);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var logits = _model.Forward(new ForwardBatch().AddSequence(0, prompt.AsSpan(common), common, Adapter), _cache);
        _cached.AddRange(prompt.AsSpan(common));
        double prefill = clock.Elapsed.TotalSeconds;
        clock.Restart();
        string reason = "length";
        int budget = Math.Min(options.MaxTokens, context - prompt.Length);
        for (int i = 0; i < budget; i++)
        {
            if (cancel.IsCancellationRequested) { reason = "cancelled"; break; }
            int next = sampler.Sample(logits, history);
            if (_tokenizer.IsEndOfGeneration(next)) { reason = "stop"; break; }
            generated.Add(next);
            history.Add(next);
            string piece = stops.Push(decoder.Push(next));
            text.Append(piece);
            onText?.Invoke(piece);
            if (stops.Stopped) { reason = "stop"; break; }
            logits = _model.Forward(new ForwardBatch().Add(0, next, _cached.Count, true, Adapter), _cache);
            _cached.Add(next);
        }
        if (!stops.Stopped)
        {
            string tail = stops.Push(decoder.Flush()) + stops.Flush();
            text.Append(tail);
            onText?.Invoke(tail);
        }
        _messages.Add(("assistant", text.ToString()));
        return new GenerationResult(text.ToString(), [.. generated], reason, prompt.Length - common, prefill, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The conversation as token ids: special tokens in the rendered template are parsed as such.</summary>
    public int[] Encode(bool addGenerationPrompt)
    {
        string bos = _tokenizer.BosId >= 0 ? _tokenizer.TokenText(_tokenizer.BosId) : "";
        string eos = _tokenizer.EosId >= 0 ? _tokenizer.TokenText(_tokenizer.EosId) : "";
        string rendered = _template.RenderChat(_messages, addGenerationPrompt, bos, eos);
        var ids = _tokenizer.Encode(rendered, addSpecial: false, parseSpecial: true);
        // Templates usually print the BOS text themselves; add the id only when the tokenizer wants one and it is absent.
        if (_tokenizer.AddBos && _tokenizer.BosId >= 0 && (ids.Length == 0 || ids[0] != _tokenizer.BosId))
            ids = [_tokenizer.BosId, .. ids];
        return ids;
    }
}
