namespace QmpExporter.Configuration;

/// <summary>
/// The command-line shorthands of the VM sources: <c>--listen PATH</c> is <c>QmpExporter:Listen:Path</c>,
/// <c>--discover GLOB</c> (repeatable) adds to <c>QmpExporter:Discover:Globs</c> after any a file lists.
/// </summary>
internal static class SourceShorthand
{
    private const int FirstGlobIndex = 10_000;

    /// <summary>Returns the other arguments; the settings go to <paramref name="settings"/>, a flag without a value to <paramref name="errors"/>.</summary>
    public static string[] Extract(string[] args, List<KeyValuePair<string, string?>> settings, List<string> errors)
    {
        var rest = new List<string>();
        var glob = FirstGlobIndex;
        for (var i = 0; i < args.Length; i++)
        {
            var (flag, value) = Split(args, ref i);
            switch (flag)
            {
                case "--listen" when !string.IsNullOrEmpty(value):
                    settings.Add(new($"{ExporterOptions.Section}:Listen:Path", value));
                    break;
                case "--discover" when !string.IsNullOrEmpty(value):
                    settings.Add(new($"{ExporterOptions.Section}:Discover:Globs:{glob++}", value));
                    break;
                case "--listen":
                    errors.Add("--listen needs a socket path, e.g. --listen /run/qmp-exporter/qmp.sock");
                    break;
                case "--discover":
                    errors.Add("--discover needs a glob, e.g. --discover '/run/qemu/*.qmp'");
                    break;
                default:
                    rest.Add(args[i]);
                    break;
            }
        }

        return [.. rest];
    }

    private static (string? Flag, string? Value) Split(string[] args, ref int i)
    {
        foreach (var flag in (string[])["--listen", "--discover"])
        {
            if (args[i] == flag)
            {
                return (flag, i + 1 < args.Length ? args[++i] : null);
            }

            if (args[i].StartsWith(flag + "=", StringComparison.Ordinal))
            {
                return (flag, args[i][(flag.Length + 1)..]);
            }
        }

        return (null, null);
    }
}
