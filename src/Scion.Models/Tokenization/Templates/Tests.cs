namespace Scion.Models.Tokenization.Templates;

/// <summary>Jinja2's built-in tests (<c>x is defined</c>, <c>x is string</c>, <c>x is equalto y</c>, ...).</summary>
internal static class Tests
{
    public delegate bool Test(object? value, CallArgs args);

    private static readonly Dictionary<string, Test> All = new(StringComparer.Ordinal)
    {
        ["defined"] = (v, _) => v is not Undefined,
        ["undefined"] = (v, _) => v is Undefined,
        ["none"] = (v, _) => v is null,
        ["boolean"] = (v, _) => v is bool,
        ["true"] = (v, _) => v is true,
        ["false"] = (v, _) => v is false,
        ["string"] = (v, _) => v is string,
        ["number"] = (v, _) => Py.IsNumber(v),
        ["integer"] = (v, _) => v is long,
        ["float"] = (v, _) => v is double,
        ["mapping"] = (v, _) => v is IReadOnlyDictionary<string, object?>,
        ["iterable"] = (v, _) => v is string or IList<object?> or IReadOnlyDictionary<string, object?> or Undefined or LoopContext or GeneratorValue,
        ["sequence"] = (v, _) => v is string or IList<object?> or IReadOnlyDictionary<string, object?> or Undefined,
        ["callable"] = (v, _) => v is Callable,
        ["odd"] = (v, _) => Py.Eq(Py.Modulo(v, 2L), 1L),
        ["even"] = (v, _) => Py.Eq(Py.Modulo(v, 2L), 0L),
        ["divisibleby"] = (v, a) => Py.ToDouble(Py.Modulo(v, a.Get(0, "num"))) == 0,
        ["eq"] = (v, a) => Py.Eq(v, a.Get(0, "other")),
        ["ne"] = (v, a) => !Py.Eq(v, a.Get(0, "other")),
        ["lt"] = (v, a) => Py.Compare(v, a.Get(0, "other")) < 0,
        ["le"] = (v, a) => Py.Compare(v, a.Get(0, "other")) <= 0,
        ["gt"] = (v, a) => Py.Compare(v, a.Get(0, "other")) > 0,
        ["ge"] = (v, a) => Py.Compare(v, a.Get(0, "other")) >= 0,
        ["in"] = (v, a) => Py.Contains(a.Get(0, "seq"), v),
        ["lower"] = (v, _) => PyFormat.Str(v) is var s && s.Any(char.IsLower) && !s.Any(char.IsUpper),
        ["upper"] = (v, _) => PyFormat.Str(v) is var s && s.Any(char.IsUpper) && !s.Any(char.IsLower),
        ["sameas"] = (v, a) => a.Get(0, "other") is var o && (v is null or bool ? Equals(v, o) : ReferenceEquals(v, o)),
        ["escaped"] = (_, _) => false,
        ["filter"] = (v, _) => v is string name && Filters.Lookup(name) is not null,
        ["test"] = (v, _) => v is string name && Lookup(name) is not null,
    };

    static Tests()
    {
        string[][] aliases = [["eq", "equalto", "=="], ["ne", "!="], ["lt", "lessthan", "<"], ["le", "<="], ["gt", "greaterthan", ">"], ["ge", ">="]];
        foreach (var group in aliases)
            foreach (var alias in group.Skip(1)) All[alias] = All[group[0]];
    }

    public static Test? Lookup(string name) => All.GetValueOrDefault(name);

    /// <summary>Runs the named test as the select/reject filters do; unknown names raise.</summary>
    public static bool Run(string name, object? value, CallArgs args) =>
        (Lookup(name) ?? throw new TemplateException($"No test named '{name}'."))(value, args);
}
