namespace Scion.Models.Formats;

/// <summary>A model or adapter file that is malformed or does not fit; the message names the file and what was wrong.</summary>
public sealed class ModelFormatException(string message, Exception? inner = null) : Exception(message, inner);
