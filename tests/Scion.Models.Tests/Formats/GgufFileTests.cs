using Scion.Models.Formats;
using Scion.Tensors;
using Scion.Testing;

namespace Scion.Models.Tests.Formats;

public class GgufFileTests
{
    [Fact]
    public void ReadsGoldenTinyHeaderAndTensors()
    {
        using var f = GgufFile.Open(SharedData.Path("golden", "golden-tiny-F32.gguf"));
        Assert.Equal("llama", f.Metadata.RequireString("general.architecture"));
        Assert.Equal(64, f.Metadata.RequireInteger("llama.embedding_length"));
        var tokens = f.Metadata.GetArray<string>("tokenizer.ggml.tokens");
        Assert.Equal(32000, tokens!.Length);
        var emb = f.RequireTensor("token_embd.weight");
        Assert.Equal(GgmlType.F32, emb.Type);
        Assert.Equal(new long[] { 64, 32000 }, emb.Shape);
    }
}
