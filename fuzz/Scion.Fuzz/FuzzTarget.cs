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

    /// <summary>
    /// Whether an input of this target is a model-shaped file (GGUF, safetensors, an adapter): afl's findings for it are
    /// not committed to fuzz/regressions (only the bundled model is a model file in the repository); fuzz/run.sh leaves
    /// them in fuzz/out/regressions to be rebuilt in code in <see cref="Regressions"/>.
    /// </summary>
    public virtual bool ModelShaped => false;

    /// <summary>Inputs afl once found to crash this target, rebuilt in code from a seed, each with a fragment of the clear
    /// error it must now be refused with. The replay test runs them with fuzz/regressions' files.</summary>
    public virtual IEnumerable<(string Name, byte[] Content, string Refusal)> Regressions() => [];
}
