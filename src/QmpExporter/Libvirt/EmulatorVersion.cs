using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace QmpExporter.Libvirt;

/// <summary>
/// QEMU's version and package as its greeting would give them, read from the domain's emulator binary
/// (<c>qemu-system-x86_64 --version</c>: "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)"). Cached per
/// binary and modification time; null where the binary cannot be run (e.g. in a container that only has libvirt's
/// socket), and then the caller falls back to libvirt's hypervisor version.
/// </summary>
internal static partial class EmulatorVersion
{
    private static readonly ConcurrentDictionary<(string Path, DateTime Modified), (string Version, string Package)?> Cache = new();

    public static async Task<(string Version, string Package)?> GetAsync(string emulator)
    {
        if (emulator.Length == 0 || !File.Exists(emulator))
        {
            return null;
        }

        var key = (emulator, File.GetLastWriteTimeUtc(emulator));
        if (Cache.TryGetValue(key, out var known))
        {
            return known;
        }

        var found = await RunAsync(emulator).ConfigureAwait(false);
        Cache[key] = found;
        return found;
    }

    private static async Task<(string Version, string Package)?> RunAsync(string emulator)
    {
        try
        {
            var start = new ProcessStartInfo(emulator) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add("--version");
            using var process = Process.Start(start);
            if (process is null)
            {
                return null;
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var output = await process.StandardOutput.ReadToEndAsync(timeout.Token).ConfigureAwait(false);
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            var match = VersionLine().Match(output);
            return match.Success ? (match.Groups["version"].Value, match.Groups["package"].Value.Trim()) : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or OperationCanceledException or IOException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"^QEMU emulator version (?<version>\d+\.\d+\.\d+)(?: \((?<package>[^\n]*)\))?", RegexOptions.Multiline)]
    private static partial Regex VersionLine();
}
