using Microsoft.Extensions.Logging;

namespace QmpExporter.Sources;

/// <summary>The log lines of the VM sources (ids 100 and up). Event ids are stable: never reuse or repurpose one.</summary>
internal static partial class SourceLog
{
    [LoggerMessage(EventId = 120, Level = LogLevel.Information, Message = "VM {Vm} left; its series are released in {GraceSeconds:0} s unless it comes back")]
    public static partial void VmDeparted(ILogger logger, string vm, double graceSeconds);

    [LoggerMessage(EventId = 121, Level = LogLevel.Information, Message = "VM {Vm} released: its series are gone from /metrics")]
    public static partial void VmReleased(ILogger logger, string vm);

    [LoggerMessage(EventId = 122, Level = LogLevel.Error, Message = "VM {Vm}: releasing it failed; its series are removed anyway")]
    public static partial void ReleaseFailed(ILogger logger, string vm, Exception exception);

    [LoggerMessage(EventId = 123, Level = LogLevel.Information, Message = "Listening for QEMUs on {Path} (mode {Mode}, group {Group})")]
    public static partial void Listening(ILogger logger, string path, string mode, string group);

    [LoggerMessage(EventId = 124, Level = LogLevel.Information, Message = "QEMU pid {Pid} dialled in as VM {Vm} (uuid {Uuid})")]
    public static partial void DialledIn(ILogger logger, int pid, string vm, string uuid);

    [LoggerMessage(EventId = 125, Level = LogLevel.Warning, Message = "QEMU pid {Pid} dialled in but was turned away: {Reason}")]
    public static partial void DialInFailed(ILogger logger, int pid, string reason);

    [LoggerMessage(EventId = 126, Level = LogLevel.Warning, Message = "QEMU pid {Pid} dialled in as {Name}, a name another live VM has: it is served as VM {Vm}")]
    public static partial void DuplicateName(ILogger logger, int pid, string name, string vm);

    [LoggerMessage(EventId = 127, Level = LogLevel.Information, Message = "Discovered socket {Path}: VM {Vm}")]
    public static partial void Discovered(ILogger logger, string path, string vm);

    [LoggerMessage(EventId = 128, Level = LogLevel.Warning, Message = "Socket {Path} matches a discovery glob but is not used: {Reason}")]
    public static partial void DiscoverySkipped(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 129, Level = LogLevel.Warning, Message = "Listing {Directory} for discovery failed: {Error}")]
    public static partial void RescanFailed(ILogger logger, string directory, string error);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Accepting a QEMU on {Path} failed: {Error}")]
    public static partial void AcceptFailed(ILogger logger, string path, string error);
}
