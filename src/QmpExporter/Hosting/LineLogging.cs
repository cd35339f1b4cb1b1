using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace QmpExporter.Hosting;

internal enum LogFormat
{
    Logfmt,
    Json,
}

/// <summary>
/// Log output: one line per entry on stderr, with a timestamp, the level, the logger, the message and the message's
/// fields (logfmt, or JSON). Under systemd each line starts with its syslog priority (<c>&lt;3&gt;</c> for an error), which
/// journald strips and records as the entry's priority.
/// </summary>
internal sealed class LineLoggerProvider(LogFormat format, bool journald, TextWriter output) : ILoggerProvider
{
    /// <summary>Levels unless the configuration says otherwise; the framework's per-request logs stay quiet.</summary>
    public static readonly IReadOnlyDictionary<string, string?> DefaultLevels = new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
        // A failed start is reported by Program in one line; the host would log it again with a stack trace.
        ["Logging:LogLevel:Microsoft.Extensions.Hosting.Internal.Host"] = "Critical",
    };

    private readonly Lock gate = new();

    /// <summary><c>json</c> for JSON; anything else (logfmt, and .NET's simple or systemd) is logfmt.</summary>
    public static LineLoggerProvider FromConfiguration(IConfiguration configuration, TextWriter output) =>
        new(string.Equals(configuration[Configuration.ExporterCommandLine.LogFormatKey], "json", StringComparison.OrdinalIgnoreCase) ? LogFormat.Json : LogFormat.Logfmt,
            SystemdHelpers.IsSystemdService(),
            output);

    public ILogger CreateLogger(string categoryName) => new LineLogger(this, categoryName);

    public void Dispose()
    {
    }

    internal void Write<TState>(string category, LogLevel level, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var fields = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
        var line = new StringBuilder(256);
        if (journald)
        {
            line.Append('<').Append(SyslogPriority(level)).Append('>');
        }

        var timestamp = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        var message = formatter(state, exception);
        if (format == LogFormat.Json)
        {
            line.Append(Json(timestamp, level, category, message, fields, exception));
        }
        else
        {
            Logfmt(line, "ts", timestamp);
            Logfmt(line, "level", LevelName(level));
            Logfmt(line, "logger", category);
            Logfmt(line, "msg", message);
            foreach (var (key, value) in fields)
            {
                if (key != "{OriginalFormat}")
                {
                    Logfmt(line, SnakeCase(key), Text(value));
                }
            }

            if (exception is not null)
            {
                Logfmt(line, "error", exception.ToString());
            }

            line.Length--; // the separator after the last field
        }

        lock (gate)
        {
            output.WriteLine(line.ToString());
            output.Flush();
        }
    }

    private static string Json(string timestamp, LogLevel level, string category, string message, IReadOnlyList<KeyValuePair<string, object?>> fields, Exception? exception)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("ts", timestamp);
            json.WriteString("level", LevelName(level));
            json.WriteString("logger", category);
            json.WriteString("msg", message);
            foreach (var (key, value) in fields)
            {
                if (key != "{OriginalFormat}")
                {
                    json.WriteString(SnakeCase(key), Text(value));
                }
            }

            if (exception is not null)
            {
                json.WriteString("error", exception.ToString());
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Appends <c>key=value </c>, quoting the value when it holds a space, '=', a quote or a control character.</summary>
    private static void Logfmt(StringBuilder line, string key, string value)
    {
        line.Append(key).Append('=');
        if (value.Length > 0 && !value.Any(c => c <= ' ' || c is '=' or '"' or '\\'))
        {
            line.Append(value).Append(' ');
            return;
        }

        line.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': line.Append("\\\""); break;
                case '\\': line.Append("\\\\"); break;
                case '\n': line.Append("\\n"); break;
                case '\r': line.Append("\\r"); break;
                case '\t': line.Append("\\t"); break;
                default:
                    if (char.IsControl(c))
                    {
                        line.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    }
                    else
                    {
                        line.Append(c);
                    }

                    break;
            }
        }

        line.Append("\" ");
    }

    /// <summary>A field's text; a list (the VMs a reload added) as its items joined, as the message template shows it.</summary>
    private static string Text(object? value) => value switch
    {
        string text => text,
        System.Collections.IEnumerable items => string.Join(", ", items.Cast<object?>().Select(item => Convert.ToString(item, CultureInfo.InvariantCulture))),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary><c>DelaySeconds</c> → <c>delay_seconds</c>, the field style of Prometheus exporters' logs.</summary>
    private static string SnakeCase(string name)
    {
        var snake = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0 && !char.IsUpper(name[i - 1]))
            {
                snake.Append('_');
            }

            snake.Append(char.ToLowerInvariant(name[i]));
        }

        return snake.ToString();
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace or LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        _ => "critical",
    };

    /// <summary>syslog(3) priorities, as sd-daemon(3) prefixes: crit 2, err 3, warning 4, info 6, debug 7.</summary>
    private static int SyslogPriority(LogLevel level) => level switch
    {
        LogLevel.Trace or LogLevel.Debug => 7,
        LogLevel.Information => 6,
        LogLevel.Warning => 4,
        LogLevel.Error => 3,
        _ => 2,
    };

    private sealed class LineLogger(LineLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(category, logLevel, state, exception, formatter);
            }
        }
    }
}
