namespace Scion.Models.Tokenization;

/// <summary>
/// Token strings with their scores and types, and the string → id table. When two ids share a string the later one
/// wins, as in llama.cpp's token_to_id map.
/// </summary>
internal sealed class Vocabulary
{
    public string[] Texts { get; }
    public float[] Scores { get; }
    public TokenType[] Types { get; }
    public int Count => Texts.Length;
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _spanIds;

    public Vocabulary(string[] texts, float[]? scores, TokenType[]? types)
    {
        Texts = texts;
        Scores = scores ?? new float[texts.Length];
        Types = types ?? Enumerable.Repeat(TokenType.Normal, texts.Length).ToArray();
        if (Scores.Length != texts.Length || Types.Length != texts.Length)
            throw new ArgumentException($"Vocabulary has {texts.Length} tokens but {Scores.Length} scores and {Types.Length} types.");
        _ids = new Dictionary<string, int>(texts.Length, StringComparer.Ordinal);
        for (int i = 0; i < texts.Length; i++) _ids[texts[i]] = i;
        _spanIds = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Find(ReadOnlySpan<char> text) => _spanIds.TryGetValue(text, out var id) ? id : -1;

    public int Find(string text) => _ids.TryGetValue(text, out var id) ? id : -1;

    public bool IsControlLike(int id) => Types[id] is TokenType.Control or TokenType.Unknown;
}
