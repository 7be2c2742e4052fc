using System.Text;

namespace Scion.Models.Tokenization.Templates;

/// <summary>An expression node; evaluation follows Jinja2's Python semantics.</summary>
internal abstract class Expr(int line)
{
    public int Line { get; } = line;

    /// <summary>Evaluates, counting one step and refusing to recurse when the stack runs low (see <see cref="RenderBudget"/>).</summary>
    public object? Eval(Scope scope)
    {
        RenderBudget.Step();
        RenderBudget.EnsureStack();
        return Evaluate(scope);
    }

    protected abstract object? Evaluate(Scope scope);
}

internal sealed class ConstExpr(int line, object? value) : Expr(line)
{
    public object? Value { get; } = value;
    protected override object? Evaluate(Scope scope) => Value;
}

internal sealed class ListExpr(int line, List<Expr> items) : Expr(line)
{
    protected override object? Evaluate(Scope scope) => new List<object?>(items.Select(e => e.Eval(scope)));
}

internal sealed class TupleExpr(int line, List<Expr> items) : Expr(line)
{
    public List<Expr> Items { get; } = items;
    protected override object? Evaluate(Scope scope) => new TupleValue([.. Items.Select(e => e.Eval(scope))]);
}

internal sealed class DictExpr(int line, List<(Expr Key, Expr Value)> pairs) : Expr(line)
{
    protected override object? Evaluate(Scope scope)
    {
        var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (k, v) in pairs)
        {
            var key = k.Eval(scope);
            // Our dicts are keyed by strings (all chat-template data is JSON); other keys use their str().
            dict[key as string ?? PyFormat.Str(key)] = v.Eval(scope);
        }
        return dict;
    }
}

internal sealed class NameExpr(int line, string name) : Expr(line)
{
    public string Name { get; } = name;
    protected override object? Evaluate(Scope scope) => scope.Lookup(Name);
}

internal sealed class GetAttrExpr(int line, Expr target, string name) : Expr(line)
{
    protected override object? Evaluate(Scope scope) => Py.GetAttr(target.Eval(scope), name);
}

internal sealed class GetItemExpr(int line, Expr target, Expr key) : Expr(line)
{
    protected override object? Evaluate(Scope scope) => Py.GetItem(target.Eval(scope), key.Eval(scope));
}

internal sealed class SliceExpr(int line, Expr target, Expr? start, Expr? stop, Expr? step) : Expr(line)
{
    protected override object? Evaluate(Scope scope)
    {
        var obj = target.Eval(scope);
        object? Bound(Expr? e)
        {
            var v = e?.Eval(scope);
            return v is Undefined ? null : v;
        }
        return Py.Slice(obj, Bound(start), Bound(stop), Bound(step));
    }
}

/// <summary>Positional and keyword argument expressions of a call, filter or test.</summary>
internal sealed class ArgList(List<Expr> positional, List<(string Name, Expr Value)> named)
{
    public static readonly ArgList None = new([], []);
    public List<Expr> Positional { get; } = positional;
    public List<(string Name, Expr Value)> Named { get; } = named;

    public CallArgs Eval(Scope scope, object? first = null, bool hasFirst = false)
    {
        var args = new CallArgs();
        if (hasFirst) args.Positional.Add(first);
        foreach (var e in Positional) args.Positional.Add(e.Eval(scope));
        foreach (var (n, e) in Named) args.Named[n] = e.Eval(scope);
        return args;
    }
}

internal sealed class CallExpr(int line, Expr target, ArgList args) : Expr(line)
{
    public Expr Target { get; } = target;
    public ArgList Args { get; } = args;

    protected override object? Evaluate(Scope scope)
    {
        var fn = Target.Eval(scope);
        return fn switch
        {
            Callable c => c.Invoke(Args.Eval(scope)),
            Undefined u => throw u.Fail(),
            _ => throw Py.TypeError($"'{Py.TypeName(fn)}' object is not callable"),
        };
    }
}

internal sealed class FilterExpr(int line, Expr? input, string name, ArgList args) : Expr(line)
{
    private readonly Filters.Filter _filter = Filters.Lookup(name) ?? throw new TemplateSyntaxException($"No filter named '{name}'.", line);

    /// <summary>Applies the filter chain with <paramref name="value"/> at its innermost input (block filters).</summary>
    public object? Apply(Scope scope, object? value)
    {
        RenderBudget.EnsureStack();
        return _filter(input is FilterExpr inner ? inner.Apply(scope, value) : value, args.Eval(scope));
    }

    protected override object? Evaluate(Scope scope) =>
        input is null ? throw new TemplateException("filter without input") : _filter(input.Eval(scope), args.Eval(scope));
}

internal sealed class TestExpr(int line, Expr input, string name, ArgList args) : Expr(line)
{
    private readonly Tests.Test _test = Tests.Lookup(name) ?? throw new TemplateSyntaxException($"No test named '{name}'.", line);

    protected override object? Evaluate(Scope scope) => _test(input.Eval(scope), args.Eval(scope));
}

internal sealed class NotExpr(int line, Expr operand) : Expr(line)
{
    protected override object? Evaluate(Scope scope) => !Py.Truthy(operand.Eval(scope));
}

internal sealed class NegExpr(int line, Expr operand, bool negate) : Expr(line)
{
    public Expr Operand { get; } = operand;

    protected override object? Evaluate(Scope scope)
    {
        var v = Operand.Eval(scope);
        if (negate) return Py.Negate(v);
        if (v is Undefined u) throw u.Fail();
        return Py.IsNumber(v) ? (v is bool b ? (b ? 1L : 0L) : v) : throw Py.TypeError($"bad operand type for unary +: '{Py.TypeName(v)}'");
    }
}

internal sealed class AndExpr(int line, Expr left, Expr right) : Expr(line)
{
    protected override object? Evaluate(Scope scope)
    {
        var l = left.Eval(scope);
        return Py.Truthy(l) ? right.Eval(scope) : l;
    }
}

internal sealed class OrExpr(int line, Expr left, Expr right) : Expr(line)
{
    protected override object? Evaluate(Scope scope)
    {
        var l = left.Eval(scope);
        return Py.Truthy(l) ? l : right.Eval(scope);
    }
}

internal sealed class BinaryExpr(int line, string op, Expr left, Expr right) : Expr(line)
{
    public Expr Left { get; } = left;
    public Expr Right { get; } = right;

    protected override object? Evaluate(Scope scope)
    {
        var l = Left.Eval(scope);
        var r = Right.Eval(scope);
        return op switch
        {
            "+" => Py.Add(l, r),
            "-" => Py.Subtract(l, r),
            "*" => Py.Multiply(l, r),
            "/" => Py.TrueDivide(l, r),
            "//" => Py.FloorDivide(l, r),
            "%" => Py.Modulo(l, r),
            "**" => Py.Power(l, r),
            "~" => Py.Concat(PyFormat.Str(l), PyFormat.Str(r)),
            _ => throw new InvalidOperationException("unknown operator " + op),
        };
    }
}

internal sealed class CompareExpr(int line, Expr first, List<(string Op, Expr Operand)> ops) : Expr(line)
{
    protected override object? Evaluate(Scope scope)
    {
        var left = first.Eval(scope);
        foreach (var (op, e) in ops)
        {
            var right = e.Eval(scope);
            bool ok = op switch
            {
                "==" => Py.Eq(left, right),
                "!=" => !Py.Eq(left, right),
                "<" => Py.Compare(left, right) < 0,
                "<=" => Py.Compare(left, right) <= 0,
                ">" => Py.Compare(left, right) > 0,
                ">=" => Py.Compare(left, right) >= 0,
                "in" => Py.Contains(right, left),
                "notin" => !Py.Contains(right, left),
                _ => throw new InvalidOperationException("unknown comparison " + op),
            };
            if (!ok) return false;
            left = right;
        }
        return true;
    }
}

internal sealed class CondExpr(int line, Expr test, Expr then, Expr? otherwise) : Expr(line)
{
    protected override object? Evaluate(Scope scope) =>
        Py.Truthy(test.Eval(scope)) ? then.Eval(scope)
        : otherwise is null ? new Undefined("the inline if-expression evaluated to false and no else section was defined.")
        : otherwise.Eval(scope);
}
