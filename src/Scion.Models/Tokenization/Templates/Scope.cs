namespace Scion.Models.Tokenization.Templates;

/// <summary>
/// A variable scope. Jinja gives each for-loop iteration and each macro call its own scope (so a
/// <c>set</c> inside a loop does not leak out, which is why templates use <c>namespace</c>), while
/// <c>if</c> blocks share their parent's.
/// </summary>
internal sealed class Scope(Scope? parent, RenderContext context)
{
    private readonly Dictionary<string, object?> _vars = new(StringComparer.Ordinal);

    public Scope? Parent { get; } = parent;
    public RenderContext Context { get; } = context;

    public Scope Child() => new(this, Context);

    public object? Lookup(string name)
    {
        for (var s = this; s is not null; s = s.Parent)
            if (s._vars.TryGetValue(name, out var v)) return v;
        return new Undefined($"'{name}' is undefined");
    }

    public void Set(string name, object? value) => _vars[name] = value;
}

/// <summary>What a render needs beyond variables: the clock behind <c>strftime_now</c>.</summary>
internal sealed class RenderContext(Func<DateTime> clock)
{
    public Func<DateTime> Clock { get; } = clock;
}
