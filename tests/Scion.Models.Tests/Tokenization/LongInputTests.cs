using Scion.Models.Tokenization;

namespace Scion.Models.Tests.Tokenization;

/// <summary>
/// Untrusted text of any length tokenizes in time and memory linear in its size (issue 15: a 4 MB line of one letter
/// took 10 s and 600 MB on GPT-2's vocabulary). No timing is asserted: the tests pin what made it slow instead.
/// </summary>
public sealed class LongInputTests
{
    [Fact]
    public void Merge_pair_keys_of_equal_halves_do_not_share_hash_codes()
    {
        // long.GetHashCode folds with XOR, so every (a, a) pair hashed to 0: a run of one character then walked one
        // bucket chain holding every such merge on each lookup.
        var hashes = Enumerable.Range(0, 4096).Select(i => PairKeyComparer.Instance.GetHashCode(((long)i << 32) | (uint)i)).ToHashSet();
        Assert.True(hashes.Count > 4000, $"{hashes.Count} distinct hash codes for 4096 (a, a) pairs");
        var xorTwins = Enumerable.Range(0, 4096).Select(i => PairKeyComparer.Instance.GetHashCode(((long)i << 32) | (uint)(i ^ 0x5A5))).ToHashSet();
        Assert.True(xorTwins.Count > 4000, $"{xorTwins.Count} distinct hash codes for 4096 pairs with equal left ^ right");
    }

    [Theory]
    [InlineData('a')]
    [InlineData(' ')]
    [InlineData('!')]
    public void A_word_longer_than_the_run_limit_is_merged_in_runs_no_longer_than_the_limit(char c)
    {
        // One pre-tokenizer piece of a million chars: the merge loop keeps a symbol and queue entries per char of
        // its run, so an uncut run is what took 600 MB.
        var tokenizer = VocabTestCases.Gpt2;
        string word = new string(c, 1 << 20);
        BpeModel.LongestRun = 0;
        var ids = tokenizer.Encode(word, addSpecial: false);
        Assert.InRange(BpeModel.LongestRun, 1, BpeRunLimit.MaxChars);
        Assert.Equal(word, tokenizer.Decode(ids));
    }

    [Fact]
    public void A_run_is_never_cut_inside_a_surrogate_pair()
    {
        string text = new string('a', BpeRunLimit.MaxChars - 1) + "🙂" + "b";
        Assert.Equal(BpeRunLimit.MaxChars - 1, BpeRunLimit.RunEnd(text, 0, text.Length));
        Assert.Equal(text + text, VocabTestCases.Gpt2.Decode(VocabTestCases.Gpt2.Encode(text + text, addSpecial: false)));
    }

    [Theory]
    [InlineData("letters")]
    [InlineData("spaces")]
    [InlineData("mixed")]
    [InlineData("words")]
    public void Encoding_a_megabyte_line_allocates_a_bounded_amount_per_character(string kind)
    {
        var tokenizer = VocabTestCases.Gpt2;
        const int n = 1 << 20;
        string text = kind switch
        {
            "letters" => new string('a', n),
            "spaces" => new string(' ', n) + "x",
            "mixed" => string.Concat(Enumerable.Repeat("abcdefghij", n / 10)),
            _ => string.Join(' ', Enumerable.Range(0, n / 6).Select(i => i % 3 == 0 ? "the" : i % 3 == 1 ? "cat" : "sat")),
        };
        tokenizer.Encode("warm up the thread's buffers", addSpecial: false);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ids = tokenizer.Encode(text, addSpecial: false);
        double perChar = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)text.Length;
        // Measured: 24 to 35 bytes a character (the code points, their offsets, the pieces, the ids); before the fix
        // 74 to 142, with one symbol and queue entry kept per character of a run and a new large array per run.
        Assert.True(perChar < 50, $"{kind}: {perChar:F0} bytes allocated per input character");
        Assert.Equal(text, tokenizer.Decode(ids));
    }
}
