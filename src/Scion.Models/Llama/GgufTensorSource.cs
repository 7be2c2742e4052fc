using Scion.Models.Formats;

namespace Scion.Models.Llama;

internal sealed unsafe class GgufTensorSource(GgufFile file) : ITensorSource
{
    public GgufFile File { get; } = file;
    public string Path => File.Path;

    public bool TryGet(string slotName, out TensorView view)
    {
        var info = File.FindTensor(slotName);
        if (info is null)
        {
            view = default;
            return false;
        }
        view = new TensorView(info.Name, File.TensorData(info), info.Type, info.Shape);
        return true;
    }

    public void Dispose() => File.Dispose();
}
