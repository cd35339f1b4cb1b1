using System.Globalization;

namespace QmpExporter.Benchmarks;

/// <summary>Figures of this process from /proc.</summary>
internal static class Proc
{
    /// <summary>A "kB" line of /proc/self/status (VmRSS, VmHWM, ...) in bytes; -1 when absent.</summary>
    public static long StatusBytes(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
            {
                var value = line[(key.Length + 1)..].Trim();
                var space = value.IndexOf(' ', StringComparison.Ordinal);
                return long.Parse(space < 0 ? value : value[..space], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return -1;
    }

    public static long Rss => StatusBytes("VmRSS");

    /// <summary>The 1, 5 and 15 minute load averages.</summary>
    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    public static long PeakRss => StatusBytes("VmHWM");

    /// <summary>The soft limit of open files, from /proc/self/limits (the .NET runtime raises it to the hard limit at start).</summary>
    public static string OpenFilesLimit()
    {
        foreach (var line in File.ReadLines("/proc/self/limits"))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return $"{fields[0]} (hard {fields[1]})";
            }
        }

        return "unknown";
    }

    public static long OpenFilesSoftLimit()
    {
        var text = OpenFilesLimit();
        return long.TryParse(text.Split(' ')[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : long.MaxValue;
    }

    /// <summary>Full blocking compacting GCs, then the managed heap (GC.GetTotalMemory(true)) and RSS.</summary>
    public static (long Heap, long Rss) SettledMemory()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        return (heap, Rss);
    }
}
