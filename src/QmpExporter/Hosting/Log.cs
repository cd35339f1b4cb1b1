using Microsoft.Extensions.Logging;
using QmpExporter.Mappings;
using QmpExporter.Qmp;

namespace QmpExporter.Hosting;

/// <summary>Every log line of the exporter. Event ids are stable: never reuse or repurpose one.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "VM {Vm}: connected to QEMU {Version} ({Package}) at {Endpoint}")]
    public static partial void Connected(ILogger logger, string vm, PeerText version, PeerText package, QmpEndpoint endpoint);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "VM {Vm}: QMP session at {Endpoint} ended: {Reason}")]
    public static partial void Disconnected(ILogger logger, string vm, QmpEndpoint endpoint, PeerText reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "VM {Vm}: {Problem}; retrying in {DelaySeconds:0.0} s")]
    public static partial void ConnectFailed(ILogger logger, string vm, PeerText problem, double delaySeconds);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "VM {Vm}: still failing ({Problem}); retrying in {DelaySeconds:0.0} s")]
    public static partial void ConnectStillFailing(ILogger logger, string vm, PeerText problem, double delaySeconds);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "VM {Vm}: QMP protocol error ({Reason}): {Detail} ({Suppressed} more since the last line, counted in qmp_protocol_errors_total)")]
    public static partial void ProtocolError(ILogger logger, string vm, string reason, string detail, int suppressed);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "VM {Vm}: QMP command failed: {Error}")]
    public static partial void QueryFailed(ILogger logger, string vm, string error);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "VM {Vm}: unexpected error in the session; it will reconnect")]
    public static partial void SessionCrashed(ILogger logger, string vm, Exception exception);

    [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "Watching {Count} VMs: added {Added}, removed {Removed}")]
    public static partial void VmsChanged(ILogger logger, int count, IEnumerable<string> added, IEnumerable<string> removed);

    [LoggerMessage(EventId = 10, Level = LogLevel.Error, Message = "Configuration change rejected, keeping the previous VM list: {Errors}")]
    public static partial void ReloadRejected(ILogger logger, string errors);

    [LoggerMessage(EventId = 60, Level = LogLevel.Information, Message = "libvirt {Uri}: connected, watching {Count} running domains")]
    public static partial void LibvirtConnected(ILogger logger, string uri, int count);

    [LoggerMessage(EventId = 61, Level = LogLevel.Warning, Message = "libvirt {Uri}: {Problem}; retrying in {DelaySeconds:0.0} s")]
    public static partial void LibvirtConnectFailed(ILogger logger, string uri, string problem, double delaySeconds);

    [LoggerMessage(EventId = 62, Level = LogLevel.Warning, Message = "libvirt {Uri}: connection closed ({Reason}); reconnecting")]
    public static partial void LibvirtConnectionClosed(ILogger logger, string uri, string reason);

    [LoggerMessage(EventId = 63, Level = LogLevel.Information, Message = "VM {Vm}: libvirt domain {Uuid} running, watched through libvirt")]
    public static partial void LibvirtDomainStarted(ILogger logger, string vm, string uuid);

    [LoggerMessage(EventId = 64, Level = LogLevel.Information, Message = "VM {Vm}: libvirt domain stopped; its series leave after the grace period")]
    public static partial void LibvirtDomainStopped(ILogger logger, string vm);

    [LoggerMessage(EventId = 65, Level = LogLevel.Warning, Message = "VM {Vm}: libvirt call failed: {Error}")]
    public static partial void LibvirtQueryFailed(ILogger logger, string vm, string error);

    [LoggerMessage(EventId = 66, Level = LogLevel.Information, Message = "VM {Vm}: libvirt domain gone for the grace period; its series left /metrics")]
    public static partial void LibvirtDomainDeparted(ILogger logger, string vm);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "The configuration lists no VMs (\"Vms\": []): stopping all {Count} sessions")]
    public static partial void AllVmsRemoved(ILogger logger, int count);
}
