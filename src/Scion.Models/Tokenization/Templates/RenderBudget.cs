using System.Runtime.CompilerServices;

namespace Scion.Models.Tokenization.Templates;

/// <summary>
/// How much work one render of an untrusted template may do. A chat template comes from a downloaded model or a
/// request, and Jinja is a programming language: <c>{% for i in range(99999) %}{% for j in range(99999) %}</c>,
/// <c>{{ 'x' * 10**12 }}</c> or a macro that calls itself would otherwise hang the caller, take all its memory or
/// overflow its stack (which no catch survives). The defaults sit orders of magnitude above what real templates
/// need for a conversation that fills a 1M-token context.
/// </summary>
public sealed record TemplateLimits
{
    public static TemplateLimits Default { get; } = new();

    /// <summary>Statements run, expressions evaluated and items iterated, compared or printed.</summary>
    public long MaxSteps { get; init; } = 20_000_000;

    /// <summary>Characters and list items created in all; each is charged before its memory is taken.</summary>
    public long MaxAllocated { get; init; } = 512L << 20;

    /// <summary>The longest string or list a single operation may produce (also the longest output).</summary>
    public int MaxLength { get; init; } = 16 << 20;

    /// <summary>Macro and caller() calls in progress at once (CPython's recursion limit stops Jinja at a few hundred).</summary>
    public int MaxCallDepth { get; init; } = 200;
}

/// <summary>
/// The running count against <see cref="TemplateLimits"/> of the render on this thread. It is found through a
/// thread-static rather than passed along because the work happens in static Python-semantics helpers (Py, Filters,
/// Methods) that the limits must reach without threading a context through every call.
/// </summary>
internal sealed class RenderBudget(TemplateLimits limits)
{
    [ThreadStatic] private static RenderBudget? _current;

    private long _steps, _allocated;
    private int _calls;

    public TemplateLimits Limits { get; } = limits;

    /// <summary>Makes this the budget of the current thread until the returned scope is disposed.</summary>
    public Activation Enter()
    {
        var previous = _current;
        _current = this;
        return new Activation(previous);
    }

    public readonly struct Activation(RenderBudget? previous) : IDisposable
    {
        public void Dispose() => _current = previous;
    }

    /// <summary>Counts <paramref name="n"/> steps of work. Outside a render (constant folding while parsing) nothing is counted.</summary>
    public static void Step(long n = 1)
    {
        if (_current is not { } b) return;
        b._steps += n;
        if (b._steps > b.Limits.MaxSteps)
            throw new TemplateException($"template rendering stopped after {b.Limits.MaxSteps:N0} steps (statements, expressions and items); " +
                "a loop or recursion in the template does not end, or does far more work than a chat prompt needs.");
    }

    /// <summary>Refuses a string or list (or output) that would grow past <see cref="TemplateLimits.MaxLength"/>.</summary>
    public static void CheckLength(long length, string what)
    {
        if (_current is { } b && length > b.Limits.MaxLength)
            throw new TemplateException($"{what} would be {length:N0} long; a template value may be at most {b.Limits.MaxLength:N0} characters or items.");
    }

    /// <summary>Charges a string or list of <paramref name="length"/> characters or items about to be built.</summary>
    public static void Allocate(long length, string what)
    {
        if (_current is not { } b) return;
        CheckLength(length, what);
        b._allocated += Math.Max(0, length);
        if (b._allocated > b.Limits.MaxAllocated)
            throw new TemplateException($"template rendering stopped after building {b.Limits.MaxAllocated:N0} characters and items in all " +
                $"(at {what}); the template does far more work than a chat prompt needs.");
    }

    /// <summary>Enters a macro or caller() call; dispose the result to leave it.</summary>
    public static CallScope Call(string name)
    {
        var b = _current;
        if (b is not null && ++b._calls > b.Limits.MaxCallDepth)
        {
            b._calls--;
            throw new TemplateException($"'{name}' was called with {b.Limits.MaxCallDepth} calls already in progress; a macro recursion in the template does not end.");
        }
        EnsureStack();
        return new CallScope(b);
    }

    public readonly struct CallScope(RenderBudget? budget) : IDisposable
    {
        public void Dispose()
        {
            if (budget is not null) budget._calls--;
        }
    }

    /// <summary>
    /// Refuses to recurse further when the stack runs low: expression trees (a thousand chained '+'), nested data
    /// (a list appended to itself, then printed) and parsing nest without bound otherwise, and a stack overflow
    /// kills the process.
    /// </summary>
    public static void EnsureStack()
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw new TemplateException("the template nests too deeply (expressions, blocks, macro calls or self-containing data) to evaluate.");
    }
}
