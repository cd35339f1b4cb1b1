using System.Diagnostics;

namespace QmpExporter.Benchmarks;

/// <summary>
/// <c>--gcdump DIR</c>: writes a heap snapshot of this (scenario) process at a named point, by running
/// <c>dotnet-gcdump collect -p PID</c> against itself (the runtime's diagnostic server answers on its own thread).
/// The tool is <c>--gcdump-tool PATH</c>, else <c>dotnet-gcdump</c> on PATH, else <c>~/.dotnet/tools/dotnet-gcdump</c>.
/// Compare two snapshots with <c>dotnet-gcdump report FILE</c> (live objects by type).
/// </summary>
internal static class HeapDumps
{
    /// <summary>A measuring point: the heap snapshot (if asked for), then the hold (if asked for).</summary>
    public static async Task AtPointAsync(Options o, string label)
    {
        await TakeAsync(o, label).ConfigureAwait(false);
        if (o.Hold > 0)
        {
            Report.Note($"holding {o.Hold} s at '{label}': PID {Environment.ProcessId}");
            await Task.Delay(TimeSpan.FromSeconds(o.Hold)).ConfigureAwait(false);
        }
    }

    public static async Task TakeAsync(Options o, string label)
    {
        if (o.GcDump is not { Length: > 0 } dir)
        {
            return;
        }

        Directory.CreateDirectory(dir);
        var file = Path.GetFullPath(Path.Combine(dir, $"{label}.gcdump"));
        var start = new ProcessStartInfo(Tool(o))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["collect", "-p", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", file])
        {
            start.ArgumentList.Add(a);
        }

        // The tool itself needs no Server GC.
        start.Environment["DOTNET_gcServer"] = "0";
        var sw = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start dotnet-gcdump");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().ConfigureAwait(false);
        var output = (await stdout.ConfigureAwait(false)).Trim() + " " + (await stderr.ConfigureAwait(false)).Trim();
        Report.Note(process.ExitCode == 0 && File.Exists(file)
            ? $"gcdump {label}: {file} ({new FileInfo(file).Length / 1024} KB, {sw.Elapsed.TotalSeconds:0.0} s)"
            : $"gcdump {label} FAILED (exit {process.ExitCode}): {output.Trim()}");
    }

    private static string Tool(Options o)
    {
        if (o.GcDumpTool is { Length: > 0 } tool)
        {
            return tool;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "dotnet-gcdump");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "dotnet-gcdump");
    }
}
