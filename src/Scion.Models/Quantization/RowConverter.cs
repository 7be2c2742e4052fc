using Scion.Tensors;

namespace Scion.Models.Quantization;

/// <summary>Fills one fp32 row [cols] of a tensor; must be safe to call from several threads for different rows.</summary>
public delegate void RowSource(int row, Span<float> destination);

/// <summary>
/// Streams a tensor to a stream in a storage type, a chunk of rows at a time: rows are produced and quantized in
/// parallel (quantizing a 1B model row by row on one core takes minutes), then written in order, so memory stays
/// at one chunk however large the tensor is.
/// </summary>
public static class RowConverter
{
    /// <summary>Values per chunk: 16 MiB of fp32 rows.</summary>
    private const long ChunkValues = 4L << 20;

    /// <param name="rows">row count; each row holds <paramref name="cols"/> values.</param>
    public static void Write(Stream destination, GgmlType type, long rows, int cols, RowSource source)
    {
        int rowBytes = checked((int)GgmlTypeInfo.RowBytes(type, cols));
        int chunkRows = (int)Math.Clamp(ChunkValues / cols, 1, rows);
        var buffer = new byte[(long)chunkRows * rowBytes];
        for (long r0 = 0; r0 < rows; r0 += chunkRows)
        {
            int n = (int)Math.Min(chunkRows, rows - r0);
            long first = r0;
            Parallel.For(0, n, () => new float[cols], (i, _, row) =>
            {
                source(checked((int)(first + i)), row);
                Quantize.Row(type, row, buffer.AsSpan(i * rowBytes, rowBytes));
                return row;
            }, _ => { });
            destination.Write(buffer, 0, n * rowBytes);
        }
    }
}
