namespace Scion.Models.Formats;

/// <summary>
/// Checks that a GGUF file's tensors tile its data section the way every writer (llama.cpp, gguf-py, ours) lays them
/// out: zero padding up to the aligned data start, the first tensor at offset 0, each next one at the end of the
/// previous rounded up to the alignment, and the file ending within one alignment unit of the last tensor.
/// </summary>
/// <remarks>
/// A tensor's byte size follows from its type and shape, and that size must fill the slot the file gives it. Bounds
/// checks alone miss a relabelled tensor: F32 data marked F16, Q8_0, Q4_0 or BF16 is smaller than its slot, so it
/// fits the file and would be read as garbage; marked the other way round it overlaps its neighbour. A data section
/// shifted by a few bytes shows up as non-zero padding or as bytes left over at the end.
/// </remarks>
internal static class GgufDataLayout
{
    public static void Check(MappedFile file, long headerEnd, long dataOffset, long alignment, IReadOnlyList<GgufTensorInfo> tensors)
    {
        // Vocabulary-only files (tokenizer tests, llama.cpp's vocab dumps) have no data section to check.
        if (tensors.Count == 0) return;
        string path = file.Path;

        var padding = file.Span(headerEnd, dataOffset - headerEnd);
        int stray = padding.IndexOfAnyExcept((byte)0);
        if (stray >= 0)
            throw new ModelFormatException(
                $"{path}: the {padding.Length} padding bytes between the end of the header (offset {headerEnd}) and the data section " +
                $"(offset {dataOffset}, aligned to {alignment}) are not zero (offset {headerEnd + stray} is 0x{padding[stray]:X2}); " +
                "the data section is shifted or the header is corrupt.");

        var ordered = tensors.OrderBy(t => t.Offset).ThenBy(t => t.ByteSize).ToList();
        var first = ordered[0];
        if (first.Offset != 0)
            throw new ModelFormatException(
                $"{path}: the first tensor in the data section, '{first.Name}', starts at data offset {first.Offset}, not 0; " +
                $"the first {first.Offset} bytes belong to no tensor (offsets shifted, or a tensor's entry is missing).");

        for (int i = 1; i < ordered.Count; i++)
        {
            var previous = ordered[i - 1];
            var next = ordered[i];
            long end = previous.Offset + previous.ByteSize;
            if (next.Offset < end)
                throw new ModelFormatException(
                    $"{path}: tensor '{previous.Name}' ({Describe(previous)}) overlaps tensor '{next.Name}' at data offset {next.Offset}; " +
                    $"'{previous.Name}' is labelled with a type or shape larger than the space it was stored in, or the offsets are corrupt.");
            long slot = next.Offset - previous.Offset;
            if (next.Offset != AlignUp(end, alignment))
                throw new ModelFormatException(
                    $"{path}: tensor '{previous.Name}' ({Describe(previous)}) is stored in a slot of {slot} bytes (up to tensor '{next.Name}' " +
                    $"at data offset {next.Offset}), but its type and shape need {previous.ByteSize} (padded to {AlignUp(previous.ByteSize, alignment)}); " +
                    "the type does not match the stored data (e.g. F32 values labelled F16 or Q8_0), or the offsets are corrupt.");
        }

        var last = ordered[^1];
        long lastEnd = last.Offset + last.ByteSize;
        long dataLength = file.Length - dataOffset;
        // The end is already checked against the file (the caller reports truncation); here the file may end at the last
        // tensor's end or after its padding, nothing more.
        if (dataLength > AlignUp(lastEnd, alignment))
            throw new ModelFormatException(
                $"{path}: the data section holds {dataLength} bytes, but the tensors end at {lastEnd} (last: '{last.Name}', {Describe(last)}); " +
                $"{dataLength - lastEnd} bytes belong to no tensor: '{last.Name}' is labelled with a type smaller than its data " +
                "(e.g. F32 values labelled F16), or the data section is shifted.");
    }

    private static string Describe(GgufTensorInfo t) =>
        $"{t.Type} [{string.Join(", ", t.Shape)}], {t.ByteSize} bytes at data offset {t.Offset}";

    private static long AlignUp(long value, long alignment) => (value + alignment - 1) / alignment * alignment;
}
