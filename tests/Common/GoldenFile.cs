using System.Text.Json;

namespace Scion.Testing;

/// <summary>One line of a ../shared/golden/*.jsonl file: llama.cpp's logits for a prompt and its greedy continuation.</summary>
public sealed record GoldenCase(string Prompt, int[] Tokens, GoldenTop[] Top, int[] Greedy)
{
    public static List<GoldenCase> Load(string path)
    {
        var result = new List<GoldenCase>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            result.Add(new GoldenCase(
                r.GetProperty("prompt").GetString()!,
                r.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                r.GetProperty("top").EnumerateArray().Select(t => new GoldenTop(
                    t.GetProperty("mean").GetDouble(), t.GetProperty("std").GetDouble(),
                    t.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                    t.GetProperty("logits").EnumerateArray().Select(e => e.GetDouble()).ToArray())).ToArray(),
                r.GetProperty("greedy").EnumerateArray().Select(e => e.GetInt32()).ToArray()));
        }
        return result;
    }
}

public sealed record GoldenTop(double Mean, double Std, int[] Ids, double[] Logits);

/// <summary>The comparison rules of ../shared/README.md.</summary>
public static class GoldenCompare
{
    /// <summary>Checks one position's logits [V] against the golden top-20; returns the worst |Δ|/std.</summary>
    public static double CheckPosition(GoldenTop golden, ReadOnlySpan<float> logits, string where)
    {
        var order = Enumerable.Range(0, logits.Length).ToArray();
        var copy = logits.ToArray();
        Array.Sort(copy.Select(v => -v).ToArray(), order);
        var ourTop20 = order.Take(20).ToHashSet();
        foreach (var id in golden.Ids.Take(5))
            Assert.True(ourTop20.Contains(id), $"{where}: golden top-5 id {id} is not in our top-20 ({string.Join(",", order.Take(20))}).");
        double worst = 0;
        for (int i = 0; i < golden.Ids.Length; i++)
            worst = Math.Max(worst, Math.Abs(logits[golden.Ids[i]] - golden.Logits[i]) / golden.Std);
        return worst;
    }
}
