using System.Text.Json;
using QmpExporter.Qmp;

namespace QmpExporter.Sources;

/// <summary>
/// Who a QEMU is: its pid (SO_PEERCRED), and its guest name, uuid and Proxmox VM id from <c>/proc/PID/cmdline</c>,
/// with QMP's query-name and query-uuid as the fallback when the command line cannot be read or lacks them.
/// </summary>
internal sealed record VmIdentity(int Pid, string Name, string Uuid, string ProxmoxId)
{
    public static readonly VmIdentity Unknown = new(0, "", "", "");

    /// <summary>QEMU's answer to query-uuid when no <c>-uuid</c> was given.</summary>
    private const string NoUuid = "00000000-0000-0000-0000-000000000000";

    /// <summary>The <c>vm</c> label of a QEMU that dialled in: its name, else its Proxmox id, else its uuid, else <c>pid-N</c>.</summary>
    public string Label =>
        Name.Length > 0 ? Name : ProxmoxId.Length > 0 ? ProxmoxId : Uuid.Length > 0 ? Uuid : Pid > 0 ? $"pid-{Pid}" : "";

    /// <summary>The pid's value for the <c>pid</c> label of <c>qemu_info</c>: "" when unknown.</summary>
    public string PidLabel => Pid > 0 ? Pid.ToString(System.Globalization.CultureInfo.InvariantCulture) : "";

    /// <summary>Reads the command line of the client's peer, then asks QEMU for what it lacks.</summary>
    public static async Task<VmIdentity> ResolveAsync(QmpClient client, CancellationToken cancellationToken)
    {
        var identity = FromProcess(client.PeerPid);
        if (identity.Name.Length == 0)
        {
            var name = await QueryAsync(client, "query-name", cancellationToken).ConfigureAwait(false);
            identity = identity with { Name = name.ValueKind == JsonValueKind.Object && name.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "" };
        }

        if (identity.Uuid.Length == 0)
        {
            var uuid = await QueryAsync(client, "query-uuid", cancellationToken).ConfigureAwait(false);
            var value = uuid.ValueKind == JsonValueKind.Object && uuid.TryGetProperty("UUID", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString()! : "";
            identity = identity with { Uuid = value == NoUuid ? "" : value };
        }

        return identity;
    }

    /// <summary>What <c>/proc/PID/cmdline</c> says; only the pid when it cannot be read (gone, another pid namespace, no permission).</summary>
    public static VmIdentity FromProcess(int pid)
    {
        if (pid <= 0)
        {
            return Unknown;
        }

        try
        {
            return QemuCommandLine.Parse(pid, File.ReadAllBytes($"/proc/{pid}/cmdline"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Unknown with { Pid = pid };
        }
    }

    private static async Task<JsonElement> QueryAsync(QmpClient client, string command, CancellationToken cancellationToken)
    {
        try
        {
            return await client.ExecuteAsync(command, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (QmpCommandException)
        {
            return default;
        }
    }
}
