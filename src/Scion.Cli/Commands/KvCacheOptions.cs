using System.CommandLine;
using Scion.Cli.CommandLine;
using Scion.Models.KvCache;
using Scion.Models.Llama;

namespace Scion.Cli.Commands;

/// <summary>--cache-type-k / --cache-type-v (llama.cpp's -ctk / -ctv): how the KV cache stores keys and values.</summary>
internal sealed class KvCacheOptions
{
    public Option<string> Keys { get; } = Choice("--cache-type-k", "-ctk", "keys");
    public Option<string> Values { get; } = Choice("--cache-type-v", "-ctv", "values");

    private static Option<string> Choice(string name, string alias, string what)
    {
        var o = new Option<string>(name, alias)
        {
            Description = $"KV cache type for {what}: f16, q8_0 (about half the memory) or q4_0 (about a quarter)",
            DefaultValueFactory = _ => "f16",
            HelpName = "TYPE",
        };
        // Any case, as llama.cpp takes Q8_0 and q8_0 alike; the error lists the choices.
        o.Validators.Add(r =>
        {
            string? v = r.Tokens.Count > 0 ? r.Tokens[^1].Value : null;
            if (v is not null && !KvCacheFormat.Names.Contains(v.ToLowerInvariant()))
                r.AddError($"{name}: expected one of {string.Join(", ", KvCacheFormat.Names)}, got '{v}'.");
        });
        o.CompletionSources.Add([.. KvCacheFormat.Names]);
        return o;
    }

    public void AddTo(Command command)
    {
        command.Options.Add(Keys);
        command.Options.Add(Values);
    }

    public KvCacheFormat Format(ParseResult p) =>
        new(KvCacheFormat.ParseType(p.GetValue(Keys)!, "--cache-type-k"), KvCacheFormat.ParseType(p.GetValue(Values)!, "--cache-type-v"));

    /// <summary>Sets the model's cache format; a format the model cannot use is a usage error naming why.</summary>
    public void Apply(ParseResult p, LlamaModel model)
    {
        try
        {
            model.KvFormat = Format(p);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }
}
