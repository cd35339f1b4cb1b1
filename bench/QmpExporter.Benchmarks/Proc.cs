using System.Globalization;
using System.Runtime.InteropServices;

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

    /// <summary>Threads of this process, from /proc/self/status.</summary>
    public static int Threads()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                return int.Parse(line["Threads:".Length..].Trim(), CultureInfo.InvariantCulture);
            }
        }

        return -1;
    }

    /// <summary>Memory after full GCs: managed heap, RSS, and what the GC has committed (live, free space, free regions).</summary>
    public readonly record struct Settled(long Heap, long Rss, long Committed, long Fragmented, long LohAfter, int Threads, long RssAnon, long RssFile)
    {
        /// <summary>RSS and GC committed bytes after one more full GC in <see cref="GCCollectionMode.Aggressive"/> mode, which decommits all the free memory the GC keeps.</summary>
        public long RssAggressive { get; init; }

        public long CommittedAggressive { get; init; }

        /// <summary>glibc malloc (mallinfo2): bytes in use and bytes free but kept, after the aggressive GC; -1 if unknown.</summary>
        public (long InUse, long Free) Malloc { get; init; }

        /// <summary>RSS after malloc_trim(0) returned the free malloc memory to the kernel (after the aggressive GC).</summary>
        public long RssTrimmed { get; init; }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo2 MallInfo();

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    private static (long InUse, long Free) MallocFigures()
    {
        try
        {
            var m = MallInfo();
            return ((long)(m.Uordblks + m.Hblkhd), (long)m.Fordblks);
        }
        catch (EntryPointNotFoundException)
        {
            return (-1, -1);
        }
    }

    /// <summary>
    /// Full blocking compacting GCs, then the managed heap (GC.GetTotalMemory(true)) and RSS. The compacting GCs
    /// compact the small object heap only; with <paramref name="compactLoh"/> the large object heap too
    /// (<see cref="GCLargeObjectHeapCompactionMode.CompactOnce"/>). With <paramref name="aggressive"/>, one more GC
    /// afterwards in <see cref="GCCollectionMode.Aggressive"/> mode shows how much of RSS was free memory the GC kept
    /// committed: <see cref="Settled.RssAggressive"/>.
    /// </summary>
    public static Settled SettledMemory(bool compactLoh = false, bool aggressive = false)
    {
        if (compactLoh)
        {
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        }

        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        if (compactLoh)
        {
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        }

        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        var settled = new Settled(heap, Rss, info.TotalCommittedBytes, info.FragmentedBytes, info.GenerationInfo[3].SizeAfterBytes, Threads(), StatusBytes("RssAnon"), StatusBytes("RssFile"));
        if (!aggressive)
        {
            return settled;
        }

        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        settled = settled with { RssAggressive = Rss, CommittedAggressive = GC.GetGCMemoryInfo(GCKind.Any).TotalCommittedBytes, Malloc = MallocFigures() };
        try
        {
            _ = MallocTrim(0);
        }
        catch (EntryPointNotFoundException)
        {
        }

        return settled with { RssTrimmed = Rss };
    }

    /// <summary>The GC as configured in this process: mode, heaps, DATAS, ConserveMemory.</summary>
    public static string GcConfiguration()
    {
        var config = GC.GetConfigurationVariables();
        string Get(string key) => config.TryGetValue(key, out var v) ? Convert.ToString(v, CultureInfo.InvariantCulture) ?? "" : "?";
        return $"{(System.Runtime.GCSettings.IsServerGC ? "Server" : "Workstation")} GC, {(Get("ConcurrentGC") is "True" ? "concurrent" : "non-concurrent")}, " +
               $"{Get("HeapCount")} heap(s), DATAS {Get("GCDynamicAdaptationMode")}, ConserveMemory {Get("GCConserveMem")}";
    }
}
