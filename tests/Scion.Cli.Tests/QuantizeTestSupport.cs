using System.Text.Json;
using Scion.Models.Formats;
using Scion.Testing;

namespace Scion.Cli.Tests;

/// <summary>Runs the CLI in-process and checks `scion logits` output against llama.cpp's golden files.</summary>
internal static class QuantizeTestSupport
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, new StringReader(""), stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    public static string RunOk(params string[] args)
    {
        var (code, output, err) = Run(args);
        Assert.True(code == 0, $"scion {string.Join(' ', args)} exited {code}: {err}");
        return output;
    }

    /// <summary>A fresh temp folder for one test's files.</summary>
    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "scion-perfcli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// `scion logits` on the golden prompts, compared by ../shared/README.md's rules: same prompt ids, golden top-5
    /// within our top-20, max |Δlogit|/std over the golden top-20 within <paramref name="tolerance"/>, and (when
    /// asked) the same greedy continuation. Returns the worst ratio seen.
    /// </summary>
    public static double CheckLogits(string model, string goldenFile, double tolerance, bool greedyMustMatch, params string[] extra)
    {
        var golden = GoldenCase.Load(SharedData.Path("golden", goldenFile));
        // Enough of our ranking that every golden top-20 id is in it when the model is right.
        string output = RunOk(["logits", "--model", model, "--prompts-file", SharedData.Path("golden", "prompts.txt"),
            "--top", "200", "--greedy", golden[0].Greedy.Length.ToString(), .. extra]);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(golden.Count, lines.Length);
        double worst = 0;
        for (int i = 0; i < golden.Count; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            var r = doc.RootElement;
            var g = golden[i];
            Assert.Equal(g.Tokens, r.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray());
            var tops = r.GetProperty("top").EnumerateArray().ToArray();
            Assert.Equal(g.Top.Length, tops.Length);
            for (int p = 0; p < tops.Length; p++)
            {
                var ids = tops[p].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                var logits = tops[p].GetProperty("logits").EnumerateArray().Select(e => e.GetDouble()).ToArray();
                var ours = ids.Zip(logits).ToDictionary(x => x.First, x => x.Second);
                var top20 = ids.Take(20).ToHashSet();
                string where = $"{goldenFile} prompt {i} position {p}";
                foreach (var id in g.Top[p].Ids.Take(5))
                    Assert.True(top20.Contains(id), $"{where}: golden top-5 id {id} is not in our top-20.");
                for (int k = 0; k < g.Top[p].Ids.Length; k++)
                {
                    int id = g.Top[p].Ids[k];
                    Assert.True(ours.ContainsKey(id), $"{where}: golden top-20 id {id} is not in our top-200.");
                    worst = Math.Max(worst, Math.Abs(ours[id] - g.Top[p].Logits[k]) / g.Top[p].Std);
                }
            }
            if (greedyMustMatch)
                Assert.Equal(g.Greedy, r.GetProperty("greedy").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        }
        Assert.True(worst <= tolerance, $"{goldenFile}: worst |Δlogit|/std {worst:E3} exceeds {tolerance:E1}.");
        return worst;
    }

    /// <summary>`scion logits` of two models on the golden prompts: max |Δlogit|/std over the first model's top-20.</summary>
    public static double CompareLogits(string reference, string candidate, double tolerance)
    {
        string[] Lines(string model) => RunOk("logits", "--model", model, "--prompts-file", SharedData.Path("golden", "prompts.txt"),
            "--top", "200", "--greedy", "1").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var a = Lines(reference);
        var b = Lines(candidate);
        Assert.Equal(a.Length, b.Length);
        double worst = 0;
        for (int i = 0; i < a.Length; i++)
        {
            using var da = JsonDocument.Parse(a[i]);
            using var db = JsonDocument.Parse(b[i]);
            var ta = da.RootElement.GetProperty("top").EnumerateArray().ToArray();
            var tb = db.RootElement.GetProperty("top").EnumerateArray().ToArray();
            for (int p = 0; p < ta.Length; p++)
            {
                Dictionary<int, double> Map(JsonElement e) => e.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32())
                    .Zip(e.GetProperty("logits").EnumerateArray().Select(x => x.GetDouble())).ToDictionary(x => x.First, x => x.Second);
                var ra = Map(ta[p]);
                var rb = Map(tb[p]);
                double std = ta[p].GetProperty("std").GetDouble();
                foreach (var (id, v) in ra.Take(20))
                {
                    Assert.True(rb.ContainsKey(id), $"prompt {i} position {p}: id {id} is not in the candidate's top-200.");
                    worst = Math.Max(worst, Math.Abs(rb[id] - v) / std);
                }
            }
        }
        Assert.True(worst <= tolerance, $"{candidate} vs {reference}: worst |Δlogit|/std {worst:E3} exceeds {tolerance:E1}.");
        return worst;
    }

    public static Dictionary<string, (Scion.Tensors.GgmlType Type, long[] Shape)> TensorTypes(string path)
    {
        using var f = GgufFile.Open(path);
        return f.Tensors.ToDictionary(t => t.Name, t => (t.Type, t.Shape.ToArray()));
    }
}
