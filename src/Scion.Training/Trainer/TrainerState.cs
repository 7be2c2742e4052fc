using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using Scion.Training.Autograd;
using Scion.Training.Data;
using Scion.Training.Optim;

namespace Scion.Training.Trainer;

/// <summary>
/// trainer_state.bin: everything a resumed run needs to continue bit for bit — completed steps, data position,
/// the dropout RNG, every trainable tensor's exact values, and the AdamW moments. Little-endian:
/// "SCTRAIN" + the format version as one ASCII digit, int64 step, int32 epoch, int32 cursor, 32-byte RNG state,
/// int32 n, n × (int32 length, float32[length]), then the AdamW state. Version 2 (written now) ends with a 12-byte
/// trailer: int64 length of everything before it, uint32 CRC-32 of those bytes, so one flipped bit, a truncated
/// file or bytes appended to it is refused instead of resuming from damaged weights. Version 1 (no trailer) is still
/// read, and must end exactly where its optimizer state does.
/// </summary>
internal static class TrainerState
{
    private static ReadOnlySpan<byte> Magic => "SCTRAIN"u8;
    public const byte Version = (byte)'2';
    private const byte LegacyVersion = (byte)'1';
    private const int TrailerBytes = 12;

    public static void Write(Stream destination, long step, DataPosition position, Xoshiro256 rng, IReadOnlyList<Tensor> parameters, AdamW optimizer)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Trainer state files are little-endian.");
        var s = new HashingStream(destination);
        Span<byte> header = stackalloc byte[24];
        Magic.CopyTo(header);
        header[7] = Version;
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
        Span<byte> trailer = stackalloc byte[TrailerBytes];
        BinaryPrimitives.WriteInt64LittleEndian(trailer, s.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[8..], s.Crc.GetCurrentHashAsUInt32());
        destination.Write(trailer);
    }

    /// <summary>Restores the state into the given RNG, parameters and optimizer; the file is verified before anything is read into them.</summary>
    public static (long Step, DataPosition Position) Read(string path, Xoshiro256 rng, IReadOnlyList<Tensor> parameters, AdamW optimizer)
    {
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        long length = s.Length;
        Span<byte> magic = stackalloc byte[8];
        if (length < magic.Length || s.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false) < magic.Length || !magic[..7].SequenceEqual(Magic))
            throw new InvalidDataException($"{path}: not a Scion trainer state (it does not start with 'SCTRAIN'); the checkpoint is damaged or incomplete.");
        long contentEnd;
        switch (magic[7])
        {
            case Version:
                contentEnd = Verify(s, path, length);
                break;
            case LegacyVersion:
                contentEnd = length;
                break;
            default:
                throw new InvalidDataException(
                    $"{path}: trainer state format version '{(char)magic[7]}' is not one this Scion reads (1 or 2); it was written by another version or is damaged.");
        }
        s.Position = magic.Length;
        try
        {
            var result = ReadContent(s, path, rng, parameters, optimizer);
            if (s.Position != contentEnd)
                throw new InvalidDataException(
                    $"{path}: the trainer state ends at byte {s.Position} but the file {(magic[7] == Version ? "says it holds" : "has")} {contentEnd}; " +
                    "the checkpoint is damaged or has bytes appended.");
            return result;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: the trainer state ends early; the checkpoint is incomplete.", e);
        }
        catch (ArgumentException e) // the RNG refuses an all-zero state
        {
            throw new InvalidDataException($"{path}: {e.Message}; the checkpoint is damaged.", e);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: {e.Message}", e); // the optimizer's own messages do not name the file
        }
    }

    /// <summary>Checks the trailer's length and CRC-32 against the file; returns where the content ends.</summary>
    private static long Verify(FileStream s, string path, long length)
    {
        if (length < 8 + TrailerBytes)
            throw new InvalidDataException($"{path}: {length} bytes, too short for a version 2 trainer state; the checkpoint is incomplete.");
        Span<byte> trailer = stackalloc byte[TrailerBytes];
        s.Position = length - TrailerBytes;
        s.ReadExactly(trailer);
        long stated = BinaryPrimitives.ReadInt64LittleEndian(trailer);
        uint expected = BinaryPrimitives.ReadUInt32LittleEndian(trailer[8..]);
        long content = length - TrailerBytes;
        // Bytes appended or cut off move the trailer, so its stored length no longer fits the file either way.
        if (stated != content)
            throw new InvalidDataException(
                $"{path}: the trailer at the end of the file gives a state of {stated} bytes, but {content} bytes precede it; " +
                "the checkpoint is truncated, has bytes appended, or is damaged.");
        var crc = new Crc32();
        s.Position = 0;
        var buffer = new byte[1 << 16];
        for (long left = content; left > 0;)
        {
            int n = s.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0) throw new EndOfStreamException();
            crc.Append(buffer.AsSpan(0, n));
            left -= n;
        }
        uint actual = crc.GetCurrentHashAsUInt32();
        if (actual != expected)
            throw new InvalidDataException(
                $"{path}: checksum mismatch (CRC-32 0x{actual:X8}, the file says 0x{expected:X8}); the checkpoint is damaged and cannot be resumed from.");
        return content;
    }

    private static (long Step, DataPosition Position) ReadContent(Stream s, string path, Xoshiro256 rng, IReadOnlyList<Tensor> parameters, AdamW optimizer)
    {
        Span<byte> header = stackalloc byte[16];
        s.ReadExactly(header);
        long step = BinaryPrimitives.ReadInt64LittleEndian(header);
        var position = new DataPosition(BinaryPrimitives.ReadInt32LittleEndian(header[8..]), BinaryPrimitives.ReadInt32LittleEndian(header[12..]));
        if (step < 0 || position.Epoch < 0 || position.Cursor < 0)
            throw new InvalidDataException($"{path}: step {step}, epoch {position.Epoch}, example {position.Cursor}: negative values; the checkpoint is damaged.");
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

    /// <summary>Passes writes through while computing their CRC-32 and count.</summary>
    private sealed class HashingStream(Stream inner) : Stream
    {
        public Crc32 Crc { get; } = new();
        private long _length;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            Crc.Append(buffer);
            _length += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void WriteByte(byte value) => Write([value]);
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
