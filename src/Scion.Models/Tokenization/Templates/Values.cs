namespace Scion.Models.Tokenization.Templates;

// The runtime value types beyond the plain .NET ones (string, bool, long, double, null, lists, dicts).

/// <summary>
/// Jinja2's default <c>Undefined</c>: prints as "", is falsy, iterates as empty and has length 0,
/// but any further use (attribute, item, call, arithmetic, ordering) raises. The hint says what was missing.
/// </summary>
internal sealed class Undefined(string hint)
{
    public static readonly Undefined Plain = new("value is undefined");

    public string Hint { get; } = hint;

    public TemplateException Fail() => new(Hint);

    public override string ToString() => "";
}

/// <summary>A tuple (immutable sequence) such as the pairs of <c>dict.items()</c>; prints as <c>(a, b)</c>.</summary>
internal sealed class TupleValue(IList<object?> items) : System.Collections.ObjectModel.ReadOnlyCollection<object?>(items);

/// <summary>The object built by <c>namespace(...)</c>: the one value whose attributes <c>{% set ns.x = ... %}</c> may assign.</summary>
internal sealed class Namespace
{
    public Dictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}

/// <summary>Anything callable from a template: globals, bound methods, macros, <c>loop.cycle</c>.</summary>
internal sealed class Callable(string name, Func<CallArgs, object?> invoke)
{
    public string Name { get; } = name;
    public object? Invoke(CallArgs args) => invoke(args);
}

/// <summary>Evaluated call arguments: positional and keyword, as Python passes them.</summary>
internal sealed class CallArgs
{
    public static readonly CallArgs Empty = new();

    public List<object?> Positional { get; } = [];
    public Dictionary<string, object?> Named { get; } = new(StringComparer.Ordinal);

    public CallArgs() { }
    public CallArgs(params object?[] positional) => Positional.AddRange(positional);

    public int Count => Positional.Count + Named.Count;

    /// <summary>Argument by position or by keyword, falling back to <paramref name="fallback"/>.</summary>
    public object? Get(int index, string name, object? fallback = null)
    {
        if (index >= 0 && index < Positional.Count) return Positional[index];
        return Named.TryGetValue(name, out var v) ? v : fallback;
    }

    public bool Has(int index, string name) => (index >= 0 && index < Positional.Count) || Named.ContainsKey(name);
}

/// <summary>
/// A Python generator, which is what Jinja's select/reject/map/unique/items/batch filters (and reverse on a list)
/// return: lazily evaluated (errors surface only when iterated), always truthy, without len(), not
/// JSON-serialisable, and exhausted after one pass. Templates that test <c>{% if xs | selectattr(...) %}</c>
/// therefore always take the branch in Jinja, and so must we.
/// </summary>
internal sealed class GeneratorValue(string name, IEnumerable<object?> source)
{
    private bool _consumed;

    public string Name { get; } = name;

    public IEnumerable<object?> Consume()
    {
        if (_consumed) return [];
        _consumed = true;
        return source;
    }
}
