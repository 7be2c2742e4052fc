namespace Scion.Models.Tokenization;

/// <summary>Where a raw-text fragment sits: after a special token (or at the start), and whether it starts the input.</summary>
internal readonly record struct FragmentContext(bool AfterSpecial, bool AtTextStart);

/// <summary>Encodes one fragment of raw text (no special tokens inside) into ids.</summary>
internal abstract class FragmentEncoder
{
    public abstract void Encode(string text, FragmentContext context, List<int> output);
}

/// <summary>
/// llama.cpp's SPM path: a space is put in front of every fragment that follows a special token or starts the input
/// (add_space_prefix), spaces become U+2581, then <see cref="SentencePieceBpe"/> runs over the whole fragment.
/// </summary>
internal sealed class SentencePieceFragmentEncoder(SentencePieceBpe model, bool addSpacePrefix) : FragmentEncoder
{
    public const char SpaceMark = '\u2581';

    public override void Encode(string text, FragmentContext context, List<int> output)
    {
        string prefixed = addSpacePrefix && context.AfterSpecial ? " " + text : text;
        model.Encode(prefixed.Replace(' ', SpaceMark), output);
    }
}

/// <summary>Normalizer → pre-tokenizer → rank BPE per word: llama.cpp's byte-level BPE path and Hugging Face's BPE pipeline.</summary>
internal sealed class BpeFragmentEncoder(Normalizer? normalizer, PreTokenizer preTokenizer, BpeModel model) : FragmentEncoder
{
    public override void Encode(string text, FragmentContext context, List<int> output)
    {
        string normalized = normalizer?.Normalize(text, context) ?? text;
        var words = new List<string>();
        preTokenizer.Split(normalized, context.AtTextStart, words);
        foreach (var word in words) model.EncodeWord(word, output);
    }
}

/// <summary>Rewrites a text fragment before it is split (Hugging Face normalizers).</summary>
internal abstract class Normalizer
{
    public abstract string Normalize(string text, FragmentContext context);
}

/// <summary>Splits text into words for the BPE model (llama.cpp's regex lists, Hugging Face pre-tokenizers).</summary>
internal abstract class PreTokenizer
{
    /// <param name="isFirst">the piece starts the whole input (Hugging Face's Metaspace prepend_scheme "first")</param>
    public abstract void Split(string piece, bool isFirst, List<string> output);
}

/// <summary>llama.cpp's byte-level BPE pre-tokenization: its regex list for the vocabulary's <c>pre</c> name, then GPT-2 byte mapping.</summary>
internal sealed class LlamaCppBytePreTokenizer(CodePointSplitter[] splitters) : PreTokenizer
{
    public override void Split(string piece, bool isFirst, List<string> output)
    {
        var cps = new CodePoints(piece);
        foreach (var p in CodePointSplitter.SplitAll(cps, splitters))
            output.Add(ByteLevelMapping.Encode(cps.Text.AsSpan(cps.CharStart[p.Start], cps.CharStart[p.Start + p.Length] - cps.CharStart[p.Start])));
    }
}
