using Scion.Models.Formats;
using Scion.Models.Quantization;
using Scion.Models.Tokenization;

namespace Scion.Models.Tests.Quantization;

public class ByteVocabularyTests
{
    [Fact]
    public void EncodesAndDecodesAnyText()
    {
        var w = new GgufWriter();
        GgufModelMetadata.WriteByteVocabulary(w, 300);
        var md = new GgufMetadata(w.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value), "<test>");
        var t = Tokenizer.FromGguf(md);
        Assert.Equal(300, t.VocabSize);
        foreach (var text in new[] { "hello", "Grüße 世界 🎉", " leading and  double  spaces", "[filler299]" })
        {
            var ids = t.Encode(text);
            Assert.Equal(1, ids[0]);
            Assert.All(ids.Skip(1), id => Assert.InRange(id, 3, 259)); // bytes and the space mark only, never a filler
            Assert.Equal(text, t.Decode(ids.AsSpan(1)));
        }
        Assert.Throws<ArgumentException>(() => GgufModelMetadata.WriteByteVocabulary(new GgufWriter(), 100));
    }
}
