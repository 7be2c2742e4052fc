using System.Text;

namespace Scion.Models.Tokenization.Templates;

/// <summary>How a statement finished: normally, or by <c>{% break %}</c> / <c>{% continue %}</c>.</summary>
internal enum Flow { Normal, Break, Continue }

/// <summary>A statement node that writes its output to a StringBuilder.</summary>
internal abstract class Node(int line)
{
    public int Line { get; } = line;
    public abstract Flow Exec(Scope scope, StringBuilder output);

    public static Flow ExecAll(List<Node> body, Scope scope, StringBuilder output)
    {
        RenderBudget.EnsureStack();
        foreach (var node in body)
        {
            RenderBudget.Step();
            var flow = node.Exec(scope, output);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    /// <summary>Appends to the output (or a captured block), refusing output beyond <see cref="TemplateLimits.MaxLength"/>.</summary>
    public static void Emit(StringBuilder output, string text)
    {
        RenderBudget.CheckLength(output.Length + (long)text.Length, "the rendered text");
        RenderBudget.Allocate(text.Length, "the rendered text");
        output.Append(text);
    }

    public static string Capture(List<Node> body, Scope scope)
    {
        var sb = new StringBuilder();
        ExecAll(body, scope, sb);
        return sb.ToString();
    }
}

internal sealed class TextNode(int line, string text) : Node(line)
{
    public override Flow Exec(Scope scope, StringBuilder output)
    {
        Emit(output, text);
        return Flow.Normal;
    }
}

internal sealed class OutputNode(int line, Expr expr) : Node(line)
{
    public override Flow Exec(Scope scope, StringBuilder output)
    {
        Emit(output, PyFormat.Str(expr.Eval(scope)));
        return Flow.Normal;
    }
}

internal sealed class IfNode(int line, List<(Expr Test, List<Node> Body)> branches, List<Node> elseBody) : Node(line)
{
    public override Flow Exec(Scope scope, StringBuilder output)
    {
        foreach (var (test, body) in branches)
            if (Py.Truthy(test.Eval(scope))) return ExecAll(body, scope, output);
        return ExecAll(elseBody, scope, output);
    }
}

/// <summary>An assignment target: a name, <c>ns.attr</c>, or a tuple of targets to unpack into.</summary>
internal abstract class Target(int line)
{
    public int Line { get; } = line;
    public abstract void Assign(Scope scope, object? value);
}

internal sealed class NameTarget(int line, string name) : Target(line)
{
    public string Name { get; } = name;
    public override void Assign(Scope scope, object? value) => scope.Set(Name, value);
}

internal sealed class NamespaceTarget(int line, string name, string attribute) : Target(line)
{
    public override void Assign(Scope scope, object? value)
    {
        if (scope.Lookup(name) is not Namespace ns) throw new TemplateException("cannot assign attribute on non-namespace object");
        ns.Attributes[attribute] = value;
    }
}

internal sealed class TupleTarget(int line, List<Target> items) : Target(line)
{
    public override void Assign(Scope scope, object? value)
    {
        var values = Py.Iterate(value).ToList();
        if (values.Count != items.Count)
            throw new TemplateException(values.Count > items.Count
                ? $"too many values to unpack (expected {items.Count})"
                : $"not enough values to unpack (expected {items.Count}, got {values.Count})");
        for (int i = 0; i < items.Count; i++) items[i].Assign(scope, values[i]);
    }
}

internal sealed class ForNode(int line, Target target, Expr iterable, Expr? filter, List<Node> body, List<Node> elseBody) : Node(line)
{
    public override Flow Exec(Scope scope, StringBuilder output)
    {
        var source = iterable.Eval(scope);
        var items = Py.Iterate(source).ToList();
        if (filter is not null)
        {
            // The inline "if" filters before the loop starts, so loop.length/last count only kept items.
            var kept = new List<object?>();
            foreach (var item in items)
            {
                var test = scope.Child();
                target.Assign(test, item);
                if (Py.Truthy(filter.Eval(test))) kept.Add(item);
            }
            items = kept;
        }
        if (items.Count == 0) return ExecAll(elseBody, scope, output);

        int depth0 = scope.Lookup("loop") is LoopContext outer ? (int)(long)outer.GetAttribute("depth")! : 0;
        var loop = new LoopContext(items, depth0);
        for (int i = 0; i < items.Count; i++)
        {
            loop.Index0 = i;
            var iteration = scope.Child();
            iteration.Set("loop", loop);
            target.Assign(iteration, items[i]);
            if (ExecAll(body, iteration, output) == Flow.Break) break;
        }
        return Flow.Normal;
    }
}

internal sealed class SetNode(int line, Target target, Expr value) : Node(line)
{
    public override Flow Exec(Scope scope, StringBuilder output)
    {
        target.Assign(scope, value.Eval(scope));
        return Flow.Normal;
    }
}

internal sealed class SetBlockNode(int line, Target target, FilterExpr? filter, List<Node> body) : Node(line)
{
    public override Flow Exec(Scope scope, StringBuilder output)
    {
        object? value = Capture(body, scope);
        if (filter is not null) value = filter.Apply(scope, value);
        target.Assign(scope, value);
        return Flow.Normal;
    }
}

internal sealed class FilterBlockNode(int line, FilterExpr filter, List<Node> body) : Node(line)
{
    public override Flow Exec(Scope scope, StringBuilder output)
    {
        Emit(output, PyFormat.Str(filter.Apply(scope, Capture(body, scope))));
        return Flow.Normal;
    }
}

internal sealed class LoopControlNode(int line, Flow flow) : Node(line)
{
    public override Flow Exec(Scope scope, StringBuilder output) => flow;
}

/// <summary>Renders its body unchanged: <c>{% generation %}</c> (transformers) only marks assistant spans.</summary>
internal sealed class BodyNode(int line, List<Node> body) : Node(line)
{
    public override Flow Exec(Scope scope, StringBuilder output) => ExecAll(body, scope, output);
}

/// <summary>Parameters of a macro or call block, with default-value expressions for the trailing ones.</summary>
internal sealed class Signature(List<string> names, List<Expr> defaults)
{
    public static readonly Signature Empty = new([], []);

    /// <summary>Binds arguments into <paramref name="target"/> the way Jinja macros do, including varargs/kwargs.</summary>
    public void Bind(string who, CallArgs args, Scope target, Scope defaultsScope)
    {
        int firstDefault = names.Count - defaults.Count;
        var extraNamed = new Dictionary<string, object?>(args.Named, StringComparer.Ordinal);
        extraNamed.Remove("caller"); // bound separately by the macro
        for (int i = 0; i < names.Count; i++)
        {
            object? value;
            if (i < args.Positional.Count) value = args.Positional[i];
            else if (extraNamed.Remove(names[i], out var named)) value = named;
            else if (i >= firstDefault) value = defaults[i - firstDefault].Eval(defaultsScope);
            else value = new Undefined($"parameter '{names[i]}' was not provided");
            target.Set(names[i], value);
        }
        target.Set("varargs", new TupleValue([.. args.Positional.Skip(names.Count)]));
        target.Set("kwargs", extraNamed.ToDictionary(kv => kv.Key, kv => kv.Value));
        _ = who;
    }
}

internal sealed class MacroNode(int line, string name, Signature signature, List<Node> body) : Node(line)
{
    public override Flow Exec(Scope scope, StringBuilder output)
    {
        var defining = scope;
        scope.Set(name, new Callable(name, args =>
        {
            using var call = RenderBudget.Call(name);
            var local = defining.Child();
            signature.Bind(name, args, local, defining);
            if (args.Named.TryGetValue("caller", out var caller)) local.Set("caller", caller);
            return Capture(body, local);
        }));
        return Flow.Normal;
    }
}

internal sealed class CallBlockNode(int line, CallExpr call, Signature signature, List<Node> body) : Node(line)
{
    public override Flow Exec(Scope scope, StringBuilder output)
    {
        var caller = new Callable("caller", args =>
        {
            using var call = RenderBudget.Call("caller");
            var local = scope.Child();
            signature.Bind("caller", args, local, scope);
            return Capture(body, local);
        });
        var fn = call.Target.Eval(scope);
        if (fn is not Callable c) throw Py.TypeError($"'{Py.TypeName(fn)}' object is not callable");
        var callArgs = call.Args.Eval(scope);
        callArgs.Named["caller"] = caller;
        Emit(output, PyFormat.Str(c.Invoke(callArgs)));
        return Flow.Normal;
    }
}
