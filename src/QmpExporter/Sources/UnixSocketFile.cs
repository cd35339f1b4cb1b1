using System.Globalization;
using System.Runtime.InteropServices;

namespace QmpExporter.Sources;

/// <summary>Ownership and mode of a socket file: .NET sets modes but has no chown, so that one call goes to libc.</summary>
internal static partial class UnixSocketFile
{
    /// <summary>Applies an octal mode such as 0660 and, when given, a group (name from /etc/group, or a number).</summary>
    /// <exception cref="InvalidOperationException">The group is unknown or the change is not permitted.</exception>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static void Apply(string path, string mode, string group)
    {
        File.SetUnixFileMode(path, (UnixFileMode)ParseMode(mode));
        if (group.Length == 0)
        {
            return;
        }

        var gid = ResolveGroup(group) ?? throw new InvalidOperationException($"group '{group}' is not in /etc/group");
        if (Chown(path, uint.MaxValue, gid) != 0)
        {
            throw new InvalidOperationException($"cannot give {path} to group '{group}': {Marshal.GetLastPInvokeErrorMessage()}");
        }
    }

    /// <summary>An octal mode of at most 0777, or null.</summary>
    public static int? TryParseMode(string mode)
    {
        try
        {
            var value = Convert.ToInt32(mode, 8);
            return value is >= 0 and <= 0x1ff ? value : null;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            return null;
        }
    }

    private static int ParseMode(string mode) => TryParseMode(mode) ?? throw new InvalidOperationException($"mode '{mode}' is not an octal mode such as 0660");

    private static uint? ResolveGroup(string group)
    {
        if (uint.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out var gid))
        {
            return gid;
        }

        foreach (var line in File.ReadLines("/etc/group"))
        {
            var fields = line.Split(':');
            if (fields.Length >= 3 && fields[0] == group && uint.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out gid))
            {
                return gid;
            }
        }

        return null;
    }

    [LibraryImport("libc", EntryPoint = "chown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Chown(string path, uint owner, uint group);
}
