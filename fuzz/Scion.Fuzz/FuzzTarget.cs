namespace Scion.Fuzz;

/// <summary>
/// One parser under fuzzing: <see cref="Run"/> feeds it the bytes as the real entry point would get them (a file on
/// disk, a request body) and lets every exception out; the driver and the replay test decide with
/// <see cref="ClearErrors"/> whether it was an intended refusal.
/// </summary>
public abstract class FuzzTarget
{
    /// <summary>The command-line name, also the folder name of its seeds and of fuzz/regressions.</summary>
    public abstract string Name { get; }

    /// <summary>What the target covers, for `Scion.Fuzz list` and docs/reliability.md.</summary>
    public abstract string Covers { get; }

    public abstract void Run(byte[] input);

    /// <summary>Small valid inputs that reach deep into the parser: written to DIR/NAME by `seed` and replayed by the tests.</summary>
    public abstract IEnumerable<(string FileName, byte[] Content)> Seeds();
}
