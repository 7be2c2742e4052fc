using System.Globalization;
using System.Text;

namespace Scion.Models.Tokenization.Normalization;

/// <summary>
/// NFC, NFD, NFKC and NFKD (Unicode Standard Annex #15) from Scion's own tables (<see cref="UnicodeNormalizationData"/>):
/// .NET's string.Normalize leaves text unchanged under InvariantGlobalization, which Scion builds with, so tokenizers
/// whose tokenizer.json asks for a normalizer would otherwise see decomposed or compatibility text as it came.
/// </summary>
public static class UnicodeNormalizer
{
    // Hangul syllables decompose and compose by arithmetic (Unicode §3.12), not by table.
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Lazy<Tables> Data = new(Tables.Build);

    /// <summary>The Unicode version of the tables.</summary>
    public static string UnicodeVersion => UnicodeNormalizationData.UnicodeVersion;

    public static string Normalize(string text, NormalizationForm form)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (IsAscii(text)) return text; // ASCII is unchanged by every form
        bool compatibility = form is NormalizationForm.FormKC or NormalizationForm.FormKD;
        bool compose = form is NormalizationForm.FormC or NormalizationForm.FormKC;
        if (form is not (NormalizationForm.FormC or NormalizationForm.FormD or NormalizationForm.FormKC or NormalizationForm.FormKD))
            throw new ArgumentOutOfRangeException(nameof(form), form, "Expected FormC, FormD, FormKC or FormKD.");
        var tables = Data.Value;
        var points = new List<int>(text.Length + 8);
        for (int i = 0; i < text.Length; i++)
        {
            int cp = text[i];
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                cp = char.ConvertToUtf32(text[i], text[++i]);
            Decompose(cp, compatibility, tables, points);
        }
        CanonicalOrder(points, tables);
        if (compose) Compose(points, tables);
        var sb = new StringBuilder(points.Count + 8);
        foreach (int cp in points)
        {
            if (cp is >= 0xD800 and <= 0xDFFF) sb.Append((char)cp); // a lone surrogate passes through as it was
            else sb.Append(char.ConvertFromUtf32(cp));
        }
        return sb.ToString();
    }

    private static bool IsAscii(string text)
    {
        foreach (char c in text)
            if (c >= 0x80) return false;
        return true;
    }

    private static void Decompose(int cp, bool compatibility, Tables tables, List<int> output)
    {
        int s = cp - SBase;
        if (s is >= 0 and < SCount)
        {
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) output.Add(TBase + s % TCount);
            return;
        }
        if (tables.Canonical.TryGetValue(cp, out var mapping) || (compatibility && tables.Compatibility.TryGetValue(cp, out mapping)))
        {
            foreach (int part in mapping) Decompose(part, compatibility, tables, output);
            return;
        }
        output.Add(cp);
    }

    /// <summary>Stable sort of every run of non-starters by combining class (the canonical ordering algorithm).</summary>
    private static void CanonicalOrder(List<int> points, Tables tables)
    {
        for (int i = 1; i < points.Count; i++)
        {
            int cc = tables.Class(points[i]);
            if (cc == 0) continue;
            int j = i;
            while (j > 0 && tables.Class(points[j - 1]) > cc)
            {
                (points[j - 1], points[j]) = (points[j], points[j - 1]);
                j--;
            }
        }
    }

    /// <summary>
    /// Canonical composition: each character joins the last starter when nothing between them blocks it (a
    /// character between blocks when its class is 0 or not lower than the candidate's) and the pair is a primary composite.
    /// </summary>
    private static void Compose(List<int> points, Tables tables)
    {
        if (points.Count < 2) return;
        int starter = -1, lastClass = 0, write = 0;
        for (int read = 0; read < points.Count; read++)
        {
            int cp = points[read], cc = tables.Class(cp);
            if (starter >= 0)
            {
                bool adjacent = write - 1 == starter;
                if ((adjacent || (lastClass != 0 && lastClass < cc)) && TryCompose(points[starter], cp, tables, out int composite))
                {
                    points[starter] = composite;
                    continue;
                }
            }
            if (cc == 0) starter = write;
            points[write++] = cp;
            lastClass = cc;
        }
        points.RemoveRange(write, points.Count - write);
    }

    private static bool TryCompose(int first, int second, Tables tables, out int composite)
    {
        int l = first - LBase, v = second - VBase;
        if (l is >= 0 and < LCount && v is >= 0 and < VCount)
        {
            composite = SBase + (l * VCount + v) * TCount;
            return true;
        }
        int s = first - SBase, t = second - TBase;
        if (s is >= 0 and < SCount && s % TCount == 0 && t is > 0 and < TCount)
        {
            composite = first + t;
            return true;
        }
        return tables.Compositions.TryGetValue(((long)first << 21) | (uint)second, out composite);
    }

    private sealed class Tables
    {
        public required Dictionary<int, int[]> Canonical { get; init; }
        public required Dictionary<int, int[]> Compatibility { get; init; }
        /// <summary>(first &lt;&lt; 21 | second) → primary composite.</summary>
        public required Dictionary<long, int> Compositions { get; init; }
        public required Dictionary<int, byte> Classes { get; init; }

        public int Class(int cp) => cp < 0x300 ? 0 : Classes.GetValueOrDefault(cp);

        public static Tables Build()
        {
            var classes = new Dictionary<int, byte>();
            foreach (var entry in Entries(UnicodeNormalizationData.CombiningClasses))
            {
                int colon = entry.IndexOf(':');
                string range = entry[..colon];
                int dash = range.IndexOf('-');
                int first = Hex(dash < 0 ? range : range[..dash]), last = dash < 0 ? first : Hex(range[(dash + 1)..]);
                byte cc = byte.Parse(entry[(colon + 1)..], CultureInfo.InvariantCulture);
                for (int cp = first; cp <= last; cp++) classes[cp] = cc;
            }
            var canonical = new Dictionary<int, int[]>();
            var compatibility = new Dictionary<int, int[]>();
            foreach (var entry in Entries(UnicodeNormalizationData.Decompositions))
            {
                int split = entry.IndexOfAny([':', '~']);
                int cp = Hex(entry[..split]);
                int[] mapping = entry[(split + 1)..].Split(',').Select(Hex).ToArray();
                (entry[split] == ':' ? canonical : compatibility)[cp] = mapping;
            }
            var excluded = Entries(UnicodeNormalizationData.CompositionExclusions).Select(Hex).ToHashSet();
            var compositions = new Dictionary<long, int>();
            foreach (var (cp, mapping) in canonical)
            {
                // Singletons, non-starter decompositions and the listed exclusions never recompose.
                if (mapping.Length != 2 || excluded.Contains(cp) || classes.ContainsKey(cp) || classes.ContainsKey(mapping[0])) continue;
                compositions[((long)mapping[0] << 21) | (uint)mapping[1]] = cp;
            }
            return new Tables { Canonical = canonical, Compatibility = compatibility, Compositions = compositions, Classes = classes };
        }

        private static IEnumerable<string> Entries(string data) =>
            data.Split([' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries);

        private static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}
