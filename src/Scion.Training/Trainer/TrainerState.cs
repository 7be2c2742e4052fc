using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Scion.Training.Autograd;
using Scion.Training.Data;
using Scion.Training.Optim;

namespace Scion.Training.Trainer;

/// <summary>
/// trainer_state.bin: everything a resumed run needs to continue bit for bit — completed steps, data position,
/// the dropout RNG, every trainable tensor's exact values, and the AdamW moments. Little-endian:
/// "SCTRAIN1", int64 step, int32 epoch, int32 cursor, 32-byte RNG state, int32 n, n × (int32 length, float32[length]),
/// then the AdamW state.
/// </summary>
internal static class TrainerState
{
    private static ReadOnlySpan<byte> Magic => "SCTRAIN1"u8;

    public static void Write(Stream s, long step, DataPosition position, Xoshiro256 rng, IReadOnlyList<Tensor> parameters, AdamW optimizer)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Trainer state files are little-endian.");
        Span<byte> header = stackalloc byte[24];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], step);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], position.Epoch);
        BinaryPrimitives.WriteInt32LittleEndian(header[20..], position.Cursor);
        s.Write(header);
        rng.Save(s);
        Span<byte> n = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(n, parameters.Count);
        s.Write(n);
        foreach (var p in parameters)
        {
            BinaryPrimitives.WriteInt32LittleEndian(n, p.Length);
            s.Write(n);
            s.Write(MemoryMarshal.AsBytes(p.Data.AsSpan()));
        }
        optimizer.SaveState(s);
    }

    public static (long Step, DataPosition Position) Read(Stream s, string path, Xoshiro256 rng, IReadOnlyList<Tensor> parameters, AdamW optimizer)
    {
        try
        {
            Span<byte> header = stackalloc byte[24];
            s.ReadExactly(header);
            if (!header[..8].SequenceEqual(Magic)) throw new InvalidDataException($"{path}: not a Scion trainer state (missing 'SCTRAIN1').");
            long step = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
            var position = new DataPosition(BinaryPrimitives.ReadInt32LittleEndian(header[16..]), BinaryPrimitives.ReadInt32LittleEndian(header[20..]));
            rng.Load(s);
            Span<byte> n = stackalloc byte[4];
            s.ReadExactly(n);
            int count = BinaryPrimitives.ReadInt32LittleEndian(n);
            if (count != parameters.Count)
                throw new InvalidDataException($"{path}: holds {count} trainable tensors, this run has {parameters.Count}; it was written with other adapter options.");
            foreach (var p in parameters)
            {
                s.ReadExactly(n);
                int len = BinaryPrimitives.ReadInt32LittleEndian(n);
                if (len != p.Length) throw new InvalidDataException($"{path}: tensor {p} has {len} values in the checkpoint, {p.Length} in this run.");
                s.ReadExactly(MemoryMarshal.AsBytes(p.Data.AsSpan()));
            }
            optimizer.LoadState(s);
            return (step, position);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: the trainer state ends early; the checkpoint is incomplete.", e);
        }
    }
}
