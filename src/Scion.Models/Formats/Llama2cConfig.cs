namespace Scion.Models.Formats;

/// <summary>The 7-int32 header of a llama2.c checkpoint (legacy "version 0" export).</summary>
public sealed record Llama2cConfig
{
    public required int Dim { get; init; }
    public required int HiddenDim { get; init; }
    public required int Layers { get; init; }
    public required int Heads { get; init; }
    public required int KvHeads { get; init; }
    /// <summary>Always positive here; the file stores it negated when the classifier is not shared.</summary>
    public required int VocabSize { get; init; }
    public required int SeqLen { get; init; }
    /// <summary>True when the output classifier reuses the token embedding (the header's vocab_size is positive).</summary>
    public required bool SharedClassifier { get; init; }

    public int HeadSize => Dim / Heads;
    public int KvDim => KvHeads * HeadSize;
}
