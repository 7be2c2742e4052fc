using Scion.Models.Tokenization.Templates;

namespace Scion.Models.Tests.Templates;

/// <summary>
/// Untrusted templates cannot hang the caller, take its memory or overflow its stack: each of these ends in a
/// TemplateException naming the limit (issue 15), where before it ran for hours, allocated until the process died,
/// or killed the process with a stack overflow.
/// </summary>
public sealed class TemplateLimitsTests
{
    private static readonly Dictionary<string, object?> NoVariables = new();

    private static TemplateException Refused(string source, TemplateLimits? limits = null)
    {
        var template = ChatTemplate.Parse(source);
        if (limits is not null) template.Limits = limits;
        var e = Assert.ThrowsAny<TemplateException>(() => template.Render(NoVariables));
        // The limit itself, not a .NET failure wrapped on the way out.
        Assert.Null(e.InnerException);
        return e;
    }

    [Fact]
    public void Nested_loops_stop_at_the_step_limit()
    {
        var e = Refused("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}");
        Assert.Contains("steps", e.Message);
    }

    [Fact]
    public void A_huge_repeated_string_is_refused_before_it_is_built()
    {
        Assert.Contains("would be", Refused("{{ 'x' * 10 ** 12 }}").Message);
        Assert.Contains("would be", Refused("{{ [1, 2] * 9000000000 }}").Message);
        Assert.Contains("would be", Refused("{{ 'a'.ljust(10 ** 10) }}").Message);
    }

    [Fact]
    public void Doubling_a_string_stops_at_the_length_limit()
    {
        var e = Refused("{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}");
        Assert.Contains("would be", e.Message);
    }

    [Fact]
    public void Output_stops_at_the_length_limit()
    {
        var e = Refused("{% for i in range(1000) %}{{ 'x' * 100 }}{% endfor %}", TemplateLimits.Default with { MaxLength = 50_000 });
        Assert.Contains("rendered text", e.Message);
    }

    [Fact]
    public void Total_allocation_stops_at_its_limit()
    {
        var e = Refused("{% for i in range(100) %}{% set s = 'x' * 10000 %}{% endfor %}", TemplateLimits.Default with { MaxAllocated = 500_000 });
        Assert.Contains("building", e.Message);
    }

    [Fact]
    public void Macro_recursion_stops_at_the_call_depth_limit()
    {
        var e = Refused("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
        Assert.Contains("calls already in progress", e.Message);
    }

    [Fact]
    public void Power_by_a_huge_exponent_is_computed_not_looped()
    {
        // 1 ** 9e18 used to multiply 9e18 times.
        var template = ChatTemplate.Parse("{{ 1 ** 9223372036854775807 }} {{ (-1) ** 9223372036854775807 }} {{ 3 ** 4 }}");
        Assert.Equal("1 -1 81", template.Render(NoVariables));
    }

    [Fact]
    public void A_self_containing_list_is_refused_when_printed()
    {
        var e = Refused("{% set x = [1] %}{% set _ = x.append(x) %}{{ x }}");
        Assert.Contains("nests too deeply", e.Message);
    }

    [Fact]
    public void Deeply_nested_source_is_refused_while_parsing_not_by_a_stack_overflow()
    {
        var parens = Assert.ThrowsAny<TemplateException>(() => ChatTemplate.Parse("{{ " + new string('(', 100_000) + "1" + new string(')', 100_000) + " }}"));
        Assert.Contains("nests too deeply", parens.Message);
        var blocks = Assert.ThrowsAny<TemplateException>(() => ChatTemplate.Parse(string.Concat(Enumerable.Repeat("{% if true %}", 100_000))));
        Assert.Contains("nests too deeply", blocks.Message);
    }

    [Fact]
    public void A_long_chain_of_operators_is_refused_while_rendering_not_by_a_stack_overflow()
    {
        // Left-associative chains are built by loops, so the parser does not recurse, but evaluating them does.
        var e = Refused("{{ " + string.Join(" + ", Enumerable.Repeat("1", 200_000)) + " }}");
        Assert.Contains("nests too deeply", e.Message);
    }

    [Fact]
    public void Sorting_values_python_cannot_compare_is_a_template_error()
    {
        // Found by fuzzing: the sort wrapped Py.Compare's TypeError in an InvalidOperationException.
        var e = Assert.ThrowsAny<TemplateException>(() => ChatTemplate.Parse("{{ [1, 'a'] | sort }}").Render(NoVariables));
        Assert.Contains("not supported between", e.Message);
        Assert.Null(e.InnerException);
    }

    [Fact]
    public void Fill_characters_and_widths_are_checked()
    {
        Assert.Contains("fill character", Assert.ThrowsAny<TemplateException>(() => ChatTemplate.Parse("{{ 'a'.center(5, '') }}").Render(NoVariables)).Message);
        Assert.Equal("a", ChatTemplate.Parse("{{ 'a'.ljust(-5) }}").Render(NoVariables));
        Assert.Equal("x", ChatTemplate.Parse("{{ '{-1}x'.format(1) if false else 'x' }}").Render(NoVariables));
    }

    [Fact]
    public void Real_templates_are_far_inside_the_limits()
    {
        // A 2,000-message conversation through a template that loops, tests and concatenates per message.
        var messages = Enumerable.Range(0, 2000).Select(i => ((i % 2 == 0 ? "user" : "assistant"), $"message {i} " + new string('x', 200)));
        var template = ChatTemplate.Parse(Scion.Models.Generation.ChatSession.FallbackTemplate);
        string text = template.RenderChat(messages, addGenerationPrompt: true, "<s>", "</s>");
        Assert.True(text.Length > 400_000);
    }
}
