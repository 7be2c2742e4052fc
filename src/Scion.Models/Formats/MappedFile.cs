using System.IO.MemoryMappedFiles;

namespace Scion.Models.Formats;

/// <summary>A read-only memory mapping of a whole file; tensors point straight into it, so nothing is copied.</summary>
public sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _pointer;

    public string Path { get; }
    public long Length { get; }
    public byte* Pointer => _pointer != null || Length == 0 ? _pointer : throw new ObjectDisposedException(Path);

    public MappedFile(string path)
    {
        Path = path;
        PathKind.RequireFile(path, "file");
        // The length comes from the open file, not from the path's own entry: a path that is a symbolic link (Hugging
        // Face's cache is made of them) has the link's few bytes as its FileInfo length, which made real models look truncated.
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        Length = stream.Length;
        if (Length == 0)
        {
            stream.Dispose();
            return;
        }
        _map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        _view = _map.CreateViewAccessor(0, Length, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _pointer = p + _view.PointerOffset;
    }

    /// <summary>Maps a file and parses it; the mapping is released if parsing throws, so a bad file leaks nothing.</summary>
    public static T OpenAndParse<T>(string path, Func<MappedFile, T> parse)
    {
        var file = new MappedFile(path);
        try
        {
            return parse(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public ReadOnlySpan<byte> Span(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset + length > Length)
            throw new ModelFormatException($"{Path}: a read of {length} bytes at offset {offset} runs past the end of the file ({Length} bytes).");
        if (length > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(length), "Spans are limited to 2 GiB; use Pointer.");
        return new ReadOnlySpan<byte>(_pointer + offset, (int)length);
    }

    public void Dispose()
    {
        if (_view is not null && _pointer != null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _pointer = null;
        }
        _view?.Dispose();
        _map?.Dispose();
    }
}
