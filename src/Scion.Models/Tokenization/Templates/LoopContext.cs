namespace Scion.Models.Tokenization.Templates;

/// <summary>The <c>loop</c> variable inside <c>{% for %}</c>, over the already-filtered items.</summary>
internal sealed class LoopContext(IList<object?> items, int depth0)
{
    private object? _lastChanged = Undefined.Plain;

    public int Index0 { get; set; }
    public int Index => Index0 + 1;
    public int Length => items.Count;

    public object? GetAttribute(string name) => name switch
    {
        "index" => (long)Index,
        "index0" => (long)Index0,
        "revindex" => (long)(Length - Index0),
        "revindex0" => (long)(Length - Index0 - 1),
        "first" => Index0 == 0,
        "last" => Index0 == Length - 1,
        "length" => (long)Length,
        "depth" => (long)(depth0 + 1),
        "depth0" => (long)depth0,
        "previtem" => Index0 > 0 ? items[Index0 - 1] : new Undefined("there is no previous item"),
        "nextitem" => Index0 + 1 < Length ? items[Index0 + 1] : new Undefined("there is no next item"),
        "cycle" => new Callable("loop.cycle", args =>
        {
            if (args.Positional.Count == 0) throw new TemplateException("no items for cycling given");
            return args.Positional[Index0 % args.Positional.Count];
        }),
        "changed" => new Callable("loop.changed", args =>
        {
            object? value = args.Positional.Count == 1 ? args.Positional[0] : new TupleValue([.. args.Positional]);
            if (_lastChanged is Undefined || !Py.Eq(_lastChanged, value))
            {
                _lastChanged = value;
                return true;
            }
            return false;
        }),
        _ => new Undefined($"'LoopContext' object has no attribute '{name}'"),
    };
}
