using Microsoft.Extensions.Logging;

namespace QmpExporter.Hosting;

/// <summary>Log lines of signals, reloads and the web configuration (event ids 40-59).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 40, Level = LogLevel.Information, Message = "SIGHUP: re-reading the configuration")]
    public static partial void Hangup(ILogger logger);

    [LoggerMessage(EventId = 41, Level = LogLevel.Information, Message = "Web config {Path} loaded: TLS {Tls}, {Users} basic auth users")]
    public static partial void WebConfigLoaded(ILogger logger, string path, bool tls, int users);

    [LoggerMessage(EventId = 42, Level = LogLevel.Error, Message = "Web config change rejected, keeping the previous one: {Error}")]
    public static partial void WebConfigRejected(ILogger logger, string error);

    [LoggerMessage(EventId = 43, Level = LogLevel.Information, Message = "TLS certificate {Path} reloaded: {Subject}, valid until {NotAfter:u}")]
    public static partial void CertificateReloaded(ILogger logger, string path, string subject, DateTime notAfter);

    [LoggerMessage(EventId = 44, Level = LogLevel.Error, Message = "TLS certificate change rejected, keeping the previous one: {Error}")]
    public static partial void CertificateReloadFailed(ILogger logger, string error);
}
