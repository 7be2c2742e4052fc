using Microsoft.Extensions.Logging;

namespace Scion.Cli.CommandLine;

/// <summary>Server log lines (warnings and errors only: a request failing on our bug) to the CLI's stderr, one line
/// each. Request headers are never logged, so API keys cannot leak here.</summary>
internal sealed class ErrLoggerProvider(TextWriter err) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new ErrLogger(err);

    public void Dispose() { }

    private sealed class ErrLogger(TextWriter err) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            string line = $"scion: {(logLevel >= LogLevel.Error ? "error" : "warning")}: {formatter(state, exception)}" +
                (exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message})");
            lock (err) err.WriteLine(line);
        }
    }
}
