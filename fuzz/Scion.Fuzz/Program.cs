using SharpFuzz;

namespace Scion.Fuzz;

/// <summary>
/// <c>Scion.Fuzz TARGET</c>: afl-fuzz's entry point (run under fuzz/run.sh, input on stdin).
/// <c>Scion.Fuzz TARGET replay PATH...</c>: runs files (or every file of folders) and reports findings; exit 1 if any.
/// <c>Scion.Fuzz seed DIR</c>: writes every target's seed corpus to DIR/TARGET/.
/// <c>Scion.Fuzz list</c>: the targets and what each covers.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args is ["list"])
        {
            foreach (var t in FuzzTargets.All) Console.WriteLine($"{t.Name,-16} {t.Covers}");
            return 0;
        }
        if (args is ["seed", var dir]) return WriteSeeds(dir);
        if (args.Length == 0 || FuzzTargets.Find(args[0]) is not { } target)
        {
            Console.Error.WriteLine($"usage: Scion.Fuzz TARGET [replay PATH...] | seed DIR | list; targets: {string.Join(", ", FuzzTargets.All.Select(t => t.Name))}" +
                (args.Length > 0 ? $"; got '{args[0]}'" : ""));
            return 2;
        }
        if (args.Length > 1 && args[1] == "replay") return Replay(target, args[2..]);

        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            // A finding escapes to SharpFuzz, which reports it to afl as a crash.
            if (FuzzRunner.Check(target, buffer.ToArray()) is { } finding)
                throw new FuzzFindingException(FuzzRunner.Describe(finding), finding);
        });
        return 0;
    }

    private static int Replay(FuzzTarget target, string[] paths)
    {
        int findings = 0, inputs = 0;
        foreach (var file in paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]))
        {
            inputs++;
            var start = System.Diagnostics.Stopwatch.StartNew();
            var finding = FuzzRunner.Check(target, File.ReadAllBytes(file), out string? refusal);
            string took = $"{start.Elapsed.TotalMilliseconds:F0} ms";
            if (finding is null) Console.WriteLine(refusal is null ? $"accepted {file} ({took})" : $"refused  {file} ({took}): {refusal}");
            else
            {
                findings++;
                Console.WriteLine($"FINDING  {file} ({took}): {FuzzRunner.Describe(finding)}");
            }
        }
        Console.WriteLine($"{target.Name}: {inputs} inputs, {findings} findings");
        return findings == 0 ? 0 : 1;
    }

    private static int WriteSeeds(string dir)
    {
        foreach (var t in FuzzTargets.All)
        {
            string folder = Path.Combine(dir, t.Name);
            Directory.CreateDirectory(folder);
            foreach (var (name, content) in t.Seeds())
            {
                File.WriteAllBytes(Path.Combine(folder, name), content);
                Console.WriteLine($"{Path.Combine(folder, name)} ({content.Length} bytes)");
            }
        }
        return 0;
    }
}

/// <summary>What the afl entry point throws for a finding, so the crash's message says why it is one.</summary>
public sealed class FuzzFindingException(string message, Exception inner) : Exception(message, inner);
