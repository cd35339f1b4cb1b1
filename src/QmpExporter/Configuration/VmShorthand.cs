namespace QmpExporter.Configuration;

/// <summary>
/// The command-line shorthand <c>--vm NAME=SOCKET</c> (repeatable): each becomes a <c>QmpExporter:Vms</c> entry,
/// placed after any VMs listed in configuration files.
/// </summary>
internal static class VmShorthand
{
    public const string Flag = "--vm";

    /// <summary>A <see cref="CommandLineOption.Translator"/>: the VM goes to <paramref name="settings"/>, a malformed value to <paramref name="errors"/>.</summary>
    public static void Translate(string value, int use, List<KeyValuePair<string, string?>> settings, List<string> errors)
    {
        var equals = value.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            errors.Add($"{Flag} '{value}' must be NAME=SOCKET, e.g. {Flag} web1=/run/qemu/web1.qmp");
            return;
        }

        var key = $"{ExporterOptions.Section}:Vms:{CommandLineOption.FirstListIndex + use}";
        settings.Add(new(key + ":Name", value[..equals]));
        settings.Add(new(key + ":Socket", value[(equals + 1)..]));
    }
}
