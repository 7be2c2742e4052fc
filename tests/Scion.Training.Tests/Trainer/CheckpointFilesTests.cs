using Scion.Training.Optim;
using Scion.Training.Peft;
using Scion.Training.Trainer;

namespace Scion.Training.Tests.Trainer;

/// <summary>
/// Damaged checkpoint files: resume refuses each with a message naming the file, never an unhandled JsonException,
/// and never by loading weights from a state with a flipped bit, a missing tail or bytes appended.
/// </summary>
public sealed class CheckpointFilesTests : IDisposable
{
    private static readonly TrainerOptions Options = new()
    {
        Steps = 4, CheckpointEvery = 2, LearningRate = 5e-3f, BatchTokens = 24, Seed = 3, Schedule = LrDecay.Cosine,
    };
    private static readonly PeftOptions Peft = new() { Rank = 2, Alpha = 4, Targets = null };

    private readonly TinyTraining _tiny = new();
    private readonly List<Scion.Training.Data.TrainingExample> _data = TinyTraining.Examples(10, 1);
    private readonly string _checkpoint;
    private readonly byte[] _state;

    public CheckpointFilesTests()
    {
        _tiny.Tuner(Peft, Options, _data).Run();
        _checkpoint = Path.Combine(_tiny.Directory, FineTuner.CheckpointPrefix + "2");
        _state = File.ReadAllBytes(StatePath);
    }

    public void Dispose() => _tiny.Dispose();

    private string StatePath => Path.Combine(_checkpoint, FineTuner.StateFile);
    private string JsonPath => Path.Combine(_checkpoint, FineTuner.StateJsonFile);

    private void Resume() => _tiny.Tuner(Peft, Options, _data).Resume(_tiny.Directory);

    private string Refused(string file)
    {
        var e = Assert.Throws<InvalidDataException>(Resume);
        Assert.StartsWith(file + ":", e.Message);
        return e.Message;
    }

    [Fact]
    public void AnIntactCheckpointResumesAndCarriesVersion2()
    {
        Assert.Equal((byte)'2', _state[7]);
        Resume();
    }

    [Theory]
    [InlineData("", "the file is empty")]
    [InlineData("   \n", "the file is empty")]
    [InlineData("{\"rank\": 2", "not valid JSON at line 1")]
    [InlineData("[1, 2]", "expected a JSON object")]
    [InlineData("null", "found null")]
    public void AnEmptyOrInvalidTrainerStateJsonIsRefusedNamingIt(string json, string expected)
    {
        File.WriteAllText(JsonPath, json);
        Assert.Contains(expected, Refused(JsonPath));
    }

    [Fact]
    public void AMissingTrainerStateJsonIsRefusedNamingIt()
    {
        File.Delete(JsonPath);
        Assert.Contains("missing", Refused(JsonPath));
    }

    [Fact]
    public void EveryFlippedBitIsRefused()
    {
        // A bit in the magic, the step, the RNG, a weight, an optimizer moment, the stored length and the CRC itself.
        int[] bytes = [0, 7, 9, 30, 60, _state.Length / 2, _state.Length - 20, _state.Length - 12, _state.Length - 1];
        foreach (int at in bytes)
            foreach (int bit in new[] { 0, 7 })
            {
                var bad = (byte[])_state.Clone();
                bad[at] ^= (byte)(1 << bit);
                File.WriteAllBytes(StatePath, bad);
                Refused(StatePath);
            }
        var flipped = (byte[])_state.Clone();
        flipped[_state.Length / 2] ^= 1;
        File.WriteAllBytes(StatePath, flipped);
        Assert.Contains("checksum mismatch", Refused(StatePath));
    }

    [Fact]
    public void TrailingJunkAndTruncationAreRefused()
    {
        File.WriteAllBytes(StatePath, [.. _state, 0, 0, 0, 0]);
        Assert.Contains("has bytes appended", Refused(StatePath));
        File.WriteAllBytes(StatePath, _state[..^100]);
        Refused(StatePath);
        File.WriteAllBytes(StatePath, _state[..5]);
        Assert.Contains("not a Scion trainer state", Refused(StatePath));
        File.WriteAllBytes(StatePath, []);
        Refused(StatePath);
    }

    [Fact]
    public void TheUncheckedVersion1IsStillReadButMustEndWhereItsStateDoes()
    {
        byte[] legacy = _state[..^12];
        legacy[7] = (byte)'1';
        File.WriteAllBytes(StatePath, legacy);
        Resume();
        File.WriteAllBytes(StatePath, [.. legacy, 1]);
        Assert.Contains("has bytes appended", Refused(StatePath));
    }

    [Fact]
    public void AnUnknownVersionIsRefused()
    {
        var bad = (byte[])_state.Clone();
        bad[7] = (byte)'9';
        File.WriteAllBytes(StatePath, bad);
        Assert.Contains("format version '9'", Refused(StatePath));
    }

    [Fact]
    public void HalfWrittenCheckpointsAKilledRunLeftAreSweptByTheNextCheckpoint()
    {
        // kill -9 while writing checkpoint-6 (and, long ago, checkpoint-1): temporary folders of our naming, no live lock.
        string[] stale = [$".{FineTuner.CheckpointPrefix}6.{Guid.NewGuid():N}.tmp", $".{FineTuner.CheckpointPrefix}1.{Guid.NewGuid():N}.tmp"];
        foreach (var name in stale)
        {
            Directory.CreateDirectory(Path.Combine(_tiny.Directory, name));
            File.WriteAllBytes(Path.Combine(_tiny.Directory, name, FineTuner.StateFile), [1, 2, 3]);
        }
        string notOurs = Path.Combine(_tiny.Directory, ".checkpoint-3.abc.tmp");
        Directory.CreateDirectory(notOurs);
        _tiny.Tuner(Peft, Options, _data).Run();
        Assert.All(stale, name => Assert.False(Directory.Exists(Path.Combine(_tiny.Directory, name)), name));
        Assert.True(Directory.Exists(notOurs));
        Assert.Empty(Directory.GetFiles(_tiny.Directory, "*.lock"));
        Resume();
    }
}
