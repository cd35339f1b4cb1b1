namespace QmpExporter.Configuration;

/// <summary>
/// Turns the command-line shorthand <c>--vm NAME=SOCKET</c> (repeatable) into <c>QmpExporter:Vms</c> entries, placed
/// after any VMs listed in configuration files.
/// </summary>
internal static class VmShorthand
{
    private const string Flag = "--vm";
    private const int FirstIndex = 10_000;

    /// <summary>
    /// Returns the other arguments; the VMs go to <paramref name="settings"/> as list entries from index 10000 on,
    /// after any a file lists, malformed uses to <paramref name="errors"/>.
    /// </summary>
    public static string[] Extract(string[] args, List<KeyValuePair<string, string?>> settings, List<string> errors)
    {
        var rest = new List<string>();
        var index = FirstIndex;
        for (var i = 0; i < args.Length; i++)
        {
            string? value;
            if (args[i] == Flag)
            {
                value = i + 1 < args.Length ? args[++i] : null;
            }
            else if (args[i].StartsWith(Flag + "=", StringComparison.Ordinal))
            {
                value = args[i][(Flag.Length + 1)..];
            }
            else
            {
                rest.Add(args[i]);
                continue;
            }

            var equals = value?.IndexOf('=', StringComparison.Ordinal) ?? -1;
            if (equals <= 0)
            {
                errors.Add($"--vm '{value}' must be NAME=SOCKET, e.g. --vm web1=/run/qemu/web1.qmp");
                continue;
            }

            var key = $"{ExporterOptions.Section}:Vms:{index++}";
            settings.Add(new(key + ":Name", value![..equals]));
            settings.Add(new(key + ":Socket", value[(equals + 1)..]));
        }

        return [.. rest];
    }
}
