using Scion.Models.Formats;

namespace Scion.Cli.Tests;

/// <summary>A model whose forward produces NaN fails plainly instead of printing token 0 over and over.</summary>
public class NonFiniteLogitsCliTests
{
    [Fact]
    public void GenerateWithNaNWeightsFailsNamingTheCause()
    {
        string dir = Bundled.TempDir();
        string model = Path.Combine(dir, "nan.gguf");
        File.Copy(Bundled.Model, model);
        long at;
        using (var gguf = GgufFile.Open(model))
        {
            var norm = gguf.Tensors.Single(t => t.Name == "output_norm.weight");
            Assert.Equal(Scion.Tensors.GgmlType.F32, norm.Type);
            at = gguf.DataOffset + norm.Offset;
        }
        using (var f = new FileStream(model, FileMode.Open, FileAccess.Write))
        {
            f.Position = at;
            f.Write(BitConverter.GetBytes(float.NaN));
        }
        var r = CliRunner.Run("generate", "-m", model, "-p", "Once upon a time", "-n", "8", "--seed", "1");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("error: the model produced non-finite logits (NaN or infinity) at position", r.Err);
        Assert.DoesNotContain("internal error", r.Err);
        Directory.Delete(dir, true);
    }
}
