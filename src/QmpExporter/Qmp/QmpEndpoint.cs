using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace QmpExporter.Qmp;

/// <summary>
/// Where a QMP monitor listens: a unix socket (<c>PATH</c> or <c>unix:PATH</c>) or TCP (<c>tcp:HOST:PORT</c>),
/// the same spellings QEMU's own <c>-qmp</c> option uses.
/// </summary>
internal sealed record QmpEndpoint(string? UnixPath, string? Host, int Port)
{
    /// <summary>Linux's sun_path holds 108 bytes including the terminating NUL.</summary>
    public const int MaxUnixPathBytes = 107;

    public bool IsUnix => UnixPath is not null;

    public EndPoint ToEndPoint() =>
        IsUnix ? new UnixDomainSocketEndPoint(UnixPath!) : new DnsEndPoint(Host!, Port);

    public override string ToString() =>
        IsUnix ? "unix:" + UnixPath : string.Create(CultureInfo.InvariantCulture, $"tcp:{Host}:{Port}");

    /// <summary>Parses a socket spelling; <paramref name="error"/> says what is wrong when it returns false.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out QmpEndpoint? endpoint, [NotNullWhen(false)] out string? error)
    {
        endpoint = null;
        text = text?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            error = "is empty; expected a unix socket path, unix:PATH or tcp:HOST:PORT";
            return false;
        }

        if (text.StartsWith("tcp:", StringComparison.Ordinal))
        {
            var hostPort = text.AsSpan(4);
            var colon = hostPort.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(hostPort[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                error = $"'{text}' is not tcp:HOST:PORT with a port from 1 to 65535";
                return false;
            }

            var host = hostPort[..colon].Trim("[]").ToString();
            endpoint = new QmpEndpoint(null, host, port);
            error = null;
            return true;
        }

        var path = text.StartsWith("unix:", StringComparison.Ordinal) ? text[5..] : text;
        if (path.Contains(',', StringComparison.Ordinal))
        {
            error = $"'{text}' has QEMU chardev options (',...'); give only the socket path";
            return false;
        }

        if (path.Length == 0 || path.Contains(':', StringComparison.Ordinal) && !text.StartsWith("unix:", StringComparison.Ordinal))
        {
            error = $"'{text}' is neither a unix socket path, unix:PATH nor tcp:HOST:PORT";
            return false;
        }

        if (System.Text.Encoding.UTF8.GetByteCount(path) > MaxUnixPathBytes)
        {
            error = $"'{path}' is longer than the {MaxUnixPathBytes} bytes a unix socket path may have";
            return false;
        }

        endpoint = new QmpEndpoint(path, null, 0);
        error = null;
        return true;
    }
}
