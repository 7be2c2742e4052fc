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
    private readonly int _context;

    public LoraAdapter? Adapter { get; init; }
    /// <summary>Positions the conversation may use: the model's context length unless the constructor was given less.</summary>
    public int ContextSize => _context;
    /// <summary>How many of the oldest messages the last <see cref="Send"/> dropped to fit the context (0 when none).</summary>
    public int DroppedMessages { get; private set; }
    public IReadOnlyList<(string Role, string Content)> Messages => _messages;
    public int CachedTokens => _cached.Count;

    /// <param name="contextSize">KV cache positions (default and maximum: the model's context length).</param>
    public ChatSession(LlamaModel model, Tokenizer tokenizer, string? template, string? system = null, int? contextSize = null)
    {
        _model = model;
        _tokenizer = tokenizer;
        _template = ChatTemplate.Parse(template ?? FallbackTemplate);
        _context = Math.Min(contextSize ?? model.Config.ContextLength, model.Config.ContextLength);
        if (_context < 2) throw new ArgumentOutOfRangeException(nameof(contextSize), contextSize, "a chat needs a context of at least 2 tokens.");
        _cache = model.NewCache(_context);
        _system = system;
        Reset();
    }

    public void Reset()
    {
        _messages.Clear();
        if (_system is not null) _messages.Add(("system", _system));
    }

    /// <summary>
    /// Adds a user turn and streams the reply; the reply joins the history even when cancelled part-way. When the
    /// conversation no longer fits the context (with room for a reply), the oldest messages after the system prompt
    /// are dropped until it does (<see cref="DroppedMessages"/> says how many); only a single turn that cannot fit
    /// on its own is an error.
    /// </summary>
    public GenerationResult Send(string userText, GenerationOptions options, Action<string>? onText = null, CancellationToken cancel = default)
    {
        _messages.Add(("user", userText));
        int context = _context;
        // Room for a reply: the reply budget, but never more than a quarter of the context, and at least one token.
        int reserve = Math.Max(1, Math.Min(options.MaxTokens, context / 4));
        int first = _system is not null ? 1 : 0;
        DroppedMessages = 0;
        var prompt = Encode(addGenerationPrompt: true);
        while (prompt.Length + reserve > context && _messages.Count - first > 1)
        {
            // A whole turn at a time: templates that check user/assistant alternation stay happy.
            do
            {
                _messages.RemoveAt(first);
                DroppedMessages++;
            } while (_messages.Count - first > 1 && _messages[first].Role != "user");
            prompt = Encode(addGenerationPrompt: true);
        }
        if (prompt.Length >= context)
        {
            _messages.RemoveAt(_messages.Count - 1);
            throw new ArgumentException($"This message needs {prompt.Length} tokens with the system prompt, more than the context of {context}.");
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
