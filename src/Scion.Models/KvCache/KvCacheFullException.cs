namespace Scion.Models.KvCache;

public sealed class KvCacheFullException(string message) : Exception(message);
