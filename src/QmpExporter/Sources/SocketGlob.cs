using System.IO.Enumeration;
using System.Text.RegularExpressions;
using QmpExporter.Configuration;

namespace QmpExporter.Sources;

/// <summary>A discovery glob: a literal absolute directory and a file-name pattern with <c>*</c> and <c>?</c>.</summary>
internal sealed record SocketGlob(string Directory, string Pattern)
{
    public static SocketGlob Parse(string glob) => new(Path.GetDirectoryName(glob) ?? "/", Path.GetFileName(glob));

    public bool Matches(string fileName) => FileSystemName.MatchesSimpleExpression(Pattern, fileName, ignoreCase: false);

    /// <summary>The configuration key of the i-th glob (a <c>--discover</c> one is <c>QmpExporter:Discover:Globs:10000</c> and up).</summary>
    public static string Key(IReadOnlyList<string>? keys, int i) =>
        keys is not null && i < keys.Count ? keys[i] : $"{ExporterOptions.Section}:Discover:Globs:{i}";

    /// <summary>What is wrong with the discovery settings, by configuration key.</summary>
    public static List<string> Errors(DiscoverOptions discover, IReadOnlyList<string>? keys = null)
    {
        var errors = new List<string>();
        for (var i = 0; i < discover.Globs.Count; i++)
        {
            var glob = discover.Globs[i];
            var key = Key(keys, i);
            if (!Path.IsPathFullyQualified(glob) || Path.GetFileName(glob).Length == 0)
            {
                errors.Add($"{key} '{glob}' must be an absolute path whose file name may hold * and ?, e.g. /run/qemu/*.qmp");
            }
            else if (Path.GetDirectoryName(glob)!.AsSpan().IndexOfAny('*', '?', '[') >= 0)
            {
                errors.Add($"{key} '{glob}' has a wildcard in a directory; only the file name may have one (watch each directory with its own glob)");
            }
        }

        if (discover.NamePattern.Length > 0)
        {
            try
            {
                if (Array.IndexOf(new Regex(discover.NamePattern).GetGroupNames(), "name") < 0)
                {
                    errors.Add($"{ExporterOptions.Section}:Discover:NamePattern '{discover.NamePattern}' has no group (?<name>...) for the vm label");
                }
            }
            catch (ArgumentException e)
            {
                errors.Add($"{ExporterOptions.Section}:Discover:NamePattern is not a regular expression: {e.Message}");
            }
        }

        return errors;
    }
}
