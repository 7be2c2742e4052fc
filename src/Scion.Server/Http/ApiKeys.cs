using System.Security.Cryptography;
using System.Text;

namespace Scion.Server.Http;

/// <summary>Bearer keys compared in constant time: both sides are hashed first, so neither the length nor the
/// first differing byte of a guess leaks through timing. Keys are never logged.</summary>
internal sealed class ApiKeys(IEnumerable<string> keys)
{
    private readonly byte[][] _hashes = [.. keys.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k)))];

    public bool Enabled => _hashes.Length > 0;

    /// <summary>True when the Authorization header is "Bearer KEY" with a configured key.</summary>
    public bool Accepts(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return false;
        var guess = SHA256.HashData(Encoding.UTF8.GetBytes(authorization[7..].Trim()));
        bool any = false;
        // Every key is compared, whichever matches, so the time does not say which one did.
        foreach (var hash in _hashes) any |= CryptographicOperations.FixedTimeEquals(hash, guess);
        return any;
    }
}
