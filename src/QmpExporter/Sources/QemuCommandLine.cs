using System.Text;

namespace QmpExporter.Sources;

/// <summary>
/// The identity options of a QEMU command line (<c>/proc/PID/cmdline</c>, NUL-separated): <c>-name guest=NAME,...</c>
/// (libvirt) or <c>-name NAME</c>, <c>-uuid UUID</c> and Proxmox's <c>-id N</c>. Both <c>-opt</c> and <c>--opt</c>.
/// </summary>
internal static class QemuCommandLine
{
    public static VmIdentity Parse(int pid, ReadOnlySpan<byte> cmdline)
    {
        var args = Encoding.UTF8.GetString(cmdline).Split('\0');
        string name = "", uuid = "", id = "";
        for (var i = 1; i + 1 < args.Length; i++)
        {
            var option = args[i].StartsWith("--", StringComparison.Ordinal) ? args[i][1..] : args[i];
            switch (option)
            {
                case "-name":
                    name = GuestName(args[++i]);
                    break;
                case "-uuid":
                    uuid = args[++i].Trim();
                    break;
                case "-id":
                    id = args[++i].Trim();
                    break;
            }
        }

        return new VmIdentity(pid, name, uuid, id);
    }

    /// <summary>
    /// The guest name of a <c>-name</c> value: QemuOpts with the implied key <c>guest</c>, so <c>NAME,process=...</c>
    /// and <c>guest=NAME,debug-threads=on</c> both name NAME; a doubled comma is a literal comma.
    /// </summary>
    private static string GuestName(string value)
    {
        var implied = true;
        foreach (var part in SplitOptions(value))
        {
            if (part.StartsWith("guest=", StringComparison.Ordinal))
            {
                return part[6..];
            }

            if (implied && !part.Contains('=', StringComparison.Ordinal))
            {
                return part;
            }

            implied = false;
        }

        return "";
    }

    private static List<string> SplitOptions(string value)
    {
        var parts = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] != ',')
            {
                current.Append(value[i]);
            }
            else if (i + 1 < value.Length && value[i + 1] == ',')
            {
                current.Append(',');
                i++;
            }
            else
            {
                parts.Add(current.ToString());
                current.Clear();
            }
        }

        parts.Add(current.ToString());
        return parts;
    }
}
