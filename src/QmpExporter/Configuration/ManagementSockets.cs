using QmpExporter.Sources;

namespace QmpExporter.Configuration;

/// <summary>
/// Monitors that belong to a VM manager, never to the exporter: QEMU serves one client per monitor, so holding
/// libvirt's makes every libvirt call that needs it time out, and holding Proxmox's (or its qmeventd socket) breaks
/// qm and the VM's clean shutdown handling. Such paths are refused unless <c>QmpExporter:AllowManagementSockets</c>.
/// </summary>
internal static class ManagementSockets
{
    private const string Override = "set QmpExporter:AllowManagementSockets=true only if you accept that risk";

    /// <summary>The refused discovery globs and listening path.</summary>
    public static List<string> SourceErrors(ExporterOptions options, IReadOnlyList<string>? globKeys = null)
    {
        var errors = new List<string>();
        for (var i = 0; i < options.Discover.Globs.Count; i++)
        {
            if (Owner(options.Discover.Globs[i]) is { } owner)
            {
                errors.Add($"{SocketGlob.Key(globKeys, i)} '{options.Discover.Globs[i]}' matches {owner}; {Instead(owner)}");
            }
        }

        if (options.Listen.Path.Length > 0 && Path.GetFileName(options.Listen.Path) == "qmeventd.sock")
        {
            errors.Add($"{ExporterOptions.Section}:Listen:Path '{options.Listen.Path}' is Proxmox's qmeventd socket: every Proxmox QEMU reports its shutdowns there, " +
                       "and without qmeventd they are not cleaned up. Listen on a path of the exporter's own, e.g. /run/qmp-exporter/qmp.sock (docs/hosts/proxmox.md)");
        }

        return errors;
    }

    /// <summary>The refused sockets of a VM list; <paramref name="keys"/> are the entries' configuration paths.</summary>
    public static List<string> VmErrors(IReadOnlyList<VmOptions> vms, IReadOnlyList<string> keys)
    {
        var errors = new List<string>();
        for (var i = 0; i < vms.Count; i++)
        {
            var socket = vms[i].Socket.Trim();
            var path = socket.StartsWith("unix:", StringComparison.Ordinal) ? socket[5..] : socket;
            if (!socket.StartsWith("tcp:", StringComparison.Ordinal) && Owner(path) is { } owner)
            {
                var key = i < keys.Count ? keys[i] : $"{ExporterOptions.Section}:Vms:{i}";
                errors.Add($"{key}:Socket '{socket}' is {owner}; {Instead(owner)}");
            }
        }

        return errors;
    }

    /// <summary>Whose monitor a path (or glob) is, in words; null when it is nobody's.</summary>
    public static string? Owner(string path)
    {
        var full = path.Length > 0 && path[0] == '/' ? path : Path.GetFullPath(path.Length > 0 ? path : ".");
        if (Path.GetFileName(full) == "qmeventd.sock")
        {
            return "Proxmox's qmeventd socket (QEMU's shutdown events for Proxmox)";
        }

        if (full.Contains("/libvirt/qemu/", StringComparison.Ordinal))
        {
            return "libvirt's own monitor of a domain (libvirt holds it; a second client makes virsh calls that need the monitor time out)";
        }

        foreach (var dir in (string[])["/run/qemu-server/", "/var/run/qemu-server/"])
        {
            if (full.StartsWith(dir, StringComparison.Ordinal) && (full.EndsWith(".qmp", StringComparison.Ordinal) || full.EndsWith('*')))
            {
                return "Proxmox's own monitor of a VM (qm and pvedaemon need it; a second client makes them time out)";
            }
        }

        return null;
    }

    private static string Instead(string owner) =>
        (owner.StartsWith("libvirt", StringComparison.Ordinal)
            ? "give the domain a dial-in monitor to QmpExporter:Listen:Path instead (docs/hosts/libvirt.md)"
            : "give the VM a dial-in monitor to QmpExporter:Listen:Path instead (docs/hosts/proxmox.md)")
        + ", or " + Override;
}
