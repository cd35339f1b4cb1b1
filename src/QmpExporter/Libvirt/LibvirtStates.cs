using System.Globalization;

namespace QmpExporter.Libvirt;

/// <summary>libvirt's enums, translated to the words QEMU's own replies use, so both transports give the same series.</summary>
internal static class LibvirtStates
{
    /// <summary>virDomainJobOperation VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT.</summary>
    public const int OperationMigrationOut = 5;

    /// <summary>QEMU's RunState (query-status) for a virDomainState and its reason; null when QEMU does not run.</summary>
    public static string? QemuStatus(int state, int reason) => state switch
    {
        1 or 2 or 4 => "running", // running, blocked, being shut down
        3 => reason switch // paused, by virDomainPausedReason
        {
            5 => "io-error",
            6 => "watchdog",
            8 => "shutdown",
            10 => "guest-panicked",
            11 => "prelaunch",
            12 or 13 => "postmigrate",
            _ => "paused",
        },
        6 => "guest-panicked", // crashed, kept by on_crash=preserve
        7 => "suspended", // pmsuspended
        _ => null, // no state, shut off
    };

    /// <summary>A virDomainBlockJobType as QEMU's job type and libvirt's prefix of the job's id; Ready for jobs that reach a ready state.</summary>
    public static (string Prefix, string QemuType, bool Ready)? JobKind(int type) => type switch
    {
        1 => ("pull", "stream", false),
        2 => ("copy", "mirror", true),
        3 => ("commit", "commit", false),
        4 => ("active-commit", "commit", true),
        5 => ("backup", "backup", false),
        _ => null,
    };

    /// <summary>QEMU's MigrationStatus for a virDomainJobType.</summary>
    public static string? MigrationStatus(int type) => type switch
    {
        1 or 2 => "active",
        3 => "completed",
        4 => "failed",
        5 => "cancelled",
        _ => null,
    };

    /// <summary>virDomainGetJobStats: the job's type, operation and memory pass; null when libvirt has none.</summary>
    public static JobStatistics? JobStats(nint dom, uint flags)
    {
        if (LibvirtNative.virDomainGetJobStats(dom, out var type, out var parameters, out var count, flags) != 0)
        {
            throw new LibvirtCallException("virDomainGetJobStats: " + LibvirtNative.LastError());
        }

        try
        {
            if (type == 0)
            {
                return null;
            }

            LibvirtNative.virTypedParamsGetInt(parameters, count, "operation", out var operation);
            LibvirtNative.virTypedParamsGetULLong(parameters, count, "memory_iteration", out var iteration);
            return new JobStatistics(type, operation, iteration);
        }
        finally
        {
            LibvirtNative.virTypedParamsFree(parameters, count);
        }
    }

    /// <summary>The version of the connection's hypervisor (libvirt probed the default emulator), as major.minor.micro.</summary>
    public static string? HypervisorVersion(nint dom)
    {
        if (LibvirtNative.virConnectGetVersion(LibvirtNative.virDomainGetConnect(dom), out var version) != 0)
        {
            return null;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{version / 1_000_000}.{version / 1000 % 1000}.{version % 1000}");
    }

    internal readonly record struct JobStatistics(int Type, int Operation, ulong MemoryIteration);
}
