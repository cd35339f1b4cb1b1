using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace QmpExporter.Benchmarks;

internal sealed class Options
{
    public List<string> Scenarios { get; } = [];

    public long Events { get; set; } = 1_000_000;

    /// <summary>Events on a separate connection before (a) measures, so the JIT is warm as in a long-running daemon; 0 for none.</summary>
    public long Warmup { get; set; } = 300_000;

    /// <summary>Samples allocations by type (GCAllocationTick) during (a)'s measured window.</summary>
    public bool AllocProfile { get; set; }

    /// <summary>Fresh connections (a) floods one after the other; best and median are reported.</summary>
    public int Rounds { get; set; } = 3;

    public int Connections { get; set; } = 1000;

    public long PerConnection { get; set; } = 1000;

    public int Waves { get; set; } = 100;

    public int WaveSize { get; set; } = 100;

    /// <summary>(c) Waves before the "warm" measuring point (they are not among the <see cref="Waves"/>).</summary>
    public int WarmWaves { get; set; } = 10;

    public int Residents { get; set; } = 100;

    public long EventsPerVm { get; set; } = 50;

    /// <summary>(c) A directory for heap snapshots (dotnet-gcdump) at the steady and the churned point; null for none.</summary>
    public string? GcDump { get; set; }

    /// <summary>The dotnet-gcdump executable for <see cref="GcDump"/>; default: on PATH, else ~/.dotnet/tools.</summary>
    public string? GcDumpTool { get; set; }

    /// <summary>(c) Seconds to wait at the steady and the churned point (after the GC), with the PID printed, so that another tool can attach.</summary>
    public int Hold { get; set; }

    /// <summary>(c) Compacts the large object heap too (GCSettings.LargeObjectHeapCompactionMode = CompactOnce) at both measuring points.</summary>
    public bool CompactLoh { get; set; }

    /// <summary>(c) Records the stacks that made ArrayPool.Shared allocate arrays of 64 KB or more.</summary>
    public bool PoolStacks { get; set; }

    /// <summary>Extra arguments for ExporterApp.Build, e.g. <c>--exporter-arg --QmpExporter:PlannedVms=200</c>.</summary>
    public List<string> ExporterArgs { get; } = [];

    /// <summary>The option arguments as given, to hand to scenario child processes.</summary>
    public List<string> Raw { get; } = [];

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                o.Scenarios.AddRange(a.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => s.ToLowerInvariant()));
                continue;
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"{a} needs a value");
            }

            var v = args[++i];
            o.Raw.Add(a);
            o.Raw.Add(v);
            switch (a)
            {
                case "--events": o.Events = long.Parse(v, CultureInfo.InvariantCulture); break;
                case "--alloc-profile": o.AllocProfile = v is "1" or "true"; break;
                case "--rounds": o.Rounds = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--warmup": o.Warmup = long.Parse(v, CultureInfo.InvariantCulture); break;
                case "--connections": o.Connections = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--per-connection": o.PerConnection = long.Parse(v, CultureInfo.InvariantCulture); break;
                case "--waves": o.Waves = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--warm-waves": o.WarmWaves = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--wave-size": o.WaveSize = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--residents": o.Residents = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--events-per-vm": o.EventsPerVm = long.Parse(v, CultureInfo.InvariantCulture); break;
                case "--exporter-arg": o.ExporterArgs.Add(v); break;
                case "--gcdump": o.GcDump = Path.GetFullPath(v); break;
                case "--gcdump-tool": o.GcDumpTool = v; break;
                case "--compact-loh": o.CompactLoh = v is "1" or "true"; break;
                case "--pool-stacks": o.PoolStacks = v is "1" or "true"; break;
                case "--hold": o.Hold = int.Parse(v, CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown option {a}");
            }
        }

        if (o.Scenarios.Count == 0)
        {
            o.Scenarios.AddRange(["a", "b", "c"]);
        }

        return o;
    }
}

/// <summary>
/// <c>QmpExporter.Benchmarks [a] [b] [c] [options]</c> runs each scenario in a child process of this same binary and
/// prints one table; <c>scenario X</c> runs one scenario in this process; <c>serve</c> is the fake QEMU.
/// </summary>
internal static class Cli
{
    private const string RowPrefix = "ROW\t";
    private const string NotePrefix = "NOTE\t";

    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            if (args.Length > 0 && args[0] == "dial-in")
            {
                return await DialInBench.RunAsync(args[1..]);
            }

            if (args.Length > 0 && args[0] == "serve")
            {
                return await FakeQemu.RunAsync(args[1..]).ConfigureAwait(false);
            }

            if (args.Length > 1 && args[0] == "scenario")
            {
                var options = Options.Parse(args[2..]);
                Report.Note($"scenario process: {Proc.GcConfiguration()}");
                return args[1] switch
                {
                    "a" => await Scenarios.OneConnectionAsync(options).ConfigureAwait(false),
                    "b" => await Scenarios.ManyConnectionsAsync(options).ConfigureAwait(false),
                    "c" => await Scenarios.ChurnAsync(options).ConfigureAwait(false),
                    _ => throw new ArgumentException($"unknown scenario {args[1]}"),
                };
            }

            return Orchestrate(Options.Parse(args));
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}\nusage: QmpExporter.Benchmarks [a] [b] [c] [--events N] [--rounds N] [--warmup N] [--alloc-profile 1] [--connections N] [--per-connection N] [--waves N] [--warm-waves N] [--wave-size N] [--residents N] [--events-per-vm N] [--exporter-arg ARG]... [--gcdump DIR] [--gcdump-tool PATH] [--hold SECONDS] [--pool-stacks 1] [--compact-loh 1]").ConfigureAwait(false);
            return 2;
        }
    }

    /// <summary>How to start this same program again (apphost, or <c>dotnet QmpExporter.Benchmarks.dll</c>).</summary>
    public static ProcessStartInfo SelfStartInfo(IEnumerable<string> args)
    {
        var path = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var start = new ProcessStartInfo(path);
        if (Path.GetFileNameWithoutExtension(path) == "dotnet")
        {
            start.ArgumentList.Add(typeof(Cli).Assembly.Location);
        }

        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        return start;
    }

    /// <summary>The daemon's runtime configuration, built beside this binary from src/QmpExporter (project reference).</summary>
    private static string ExporterRuntimeConfig => Path.Combine(AppContext.BaseDirectory, "qmp-exporter.runtimeconfig.json");

    /// <summary>
    /// A scenario process runs the exporter in-process, so it must run with the daemon's GC settings, not this
    /// project's: <c>dotnet exec --runtimeconfig qmp-exporter.runtimeconfig.json</c> applies every <c>System.GC.*</c>
    /// setting of the daemon (Server or Workstation, concurrent or not, DATAS, ConserveMemory, ...). DOTNET_gc*
    /// environment variables still override it, as they would for the daemon.
    /// </summary>
    private static ProcessStartInfo ScenarioStartInfo(IEnumerable<string> args)
    {
        var runtimeConfig = ExporterRuntimeConfig;
        if (!File.Exists(runtimeConfig))
        {
            Console.Error.WriteLine($"warning: {runtimeConfig} not found: the scenarios run with the benchmark's own GC settings");
            return SelfStartInfo(args);
        }

        // <dotnet root>/shared/Microsoft.NETCore.App/<version>/ -> <dotnet root>/dotnet
        var runtimeDir = System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory().TrimEnd('/');
        var muxer = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(runtimeDir)))!, "dotnet");
        var start = new ProcessStartInfo(File.Exists(muxer) ? muxer : "dotnet");
        foreach (var a in (string[])["exec", "--runtimeconfig", runtimeConfig, typeof(Cli).Assembly.Location, .. args])
        {
            start.ArgumentList.Add(a);
        }

        return start;
    }

    /// <summary>The GC settings of the daemon's runtimeconfig, and any DOTNET_gc* override in the environment.</summary>
    private static string ExporterGcSettings()
    {
        var settings = new List<string>();
        if (File.Exists(ExporterRuntimeConfig))
        {
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(ExporterRuntimeConfig));
            if (json.RootElement.GetProperty("runtimeOptions").TryGetProperty("configProperties", out var properties))
            {
                settings.AddRange(properties.EnumerateObject().Where(p => p.Name.StartsWith("System.GC.", StringComparison.Ordinal)).Select(p => $"{p.Name}={p.Value}"));
            }
        }

        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            if (e.Key is string key && (key.StartsWith("DOTNET_gc", StringComparison.OrdinalIgnoreCase) || key.StartsWith("DOTNET_GC", StringComparison.Ordinal)))
            {
                settings.Add($"{key}={e.Value} (environment, overrides)");
            }
        }

        return string.Join(", ", settings);
    }

    private static int Orchestrate(Options options)
    {
        var optimized = IsOptimized(typeof(QmpExporter.Telemetry.VmRegistry).Assembly) && IsOptimized(typeof(Cli).Assembly);
        Console.WriteLine($"QmpExporter benchmarks: {Environment.ProcessorCount} cores, .NET {Environment.Version}, " +
                          $"{(optimized ? "optimized build" : "WARNING: DEBUG build, use -c Release")}, open files {Proc.OpenFilesLimit()}");
        Console.WriteLine($"scenario processes run with the daemon's runtimeconfig: {ExporterGcSettings()}");
        Console.WriteLine($"load average at start: {Proc.LoadAverage()} (other processes on these cores skew every timing)");
        var logPath = Path.Combine(Path.GetTempPath(), $"qmp-exporter-bench-{DateTime.Now:yyyyMMdd-HHmmss}.log");
        using var log = new StreamWriter(logPath);
        var rows = new List<string[]>();
        var failed = 0;
        var total = Stopwatch.StartNew();
        foreach (var scenario in options.Scenarios)
        {
            Console.WriteLine($"== scenario {scenario} ==");
            var sw = Stopwatch.StartNew();
            var start = ScenarioStartInfo(["scenario", scenario, .. options.Raw]);
            start.RedirectStandardOutput = true;
            start.UseShellExecute = false;
            using var child = Process.Start(start) ?? throw new InvalidOperationException("cannot start a scenario process");
            var logLines = 0;
            log.WriteLine($"== scenario {scenario} ==");
            while (child.StandardOutput.ReadLine() is { } line)
            {
                if (line.StartsWith(RowPrefix, StringComparison.Ordinal))
                {
                    var row = line[RowPrefix.Length..].Split('\t');
                    rows.Add(row);
                    Console.WriteLine($"  {row[1]}: {row[2]}");
                }
                else if (line.StartsWith(NotePrefix, StringComparison.Ordinal))
                {
                    Console.WriteLine($"  {line[NotePrefix.Length..]}");
                }
                else
                {
                    // The exporter's own console log (its appsettings.json levels), kept out of the table.
                    log.WriteLine(line);
                    logLines++;
                }
            }

            child.WaitForExit();
            Console.WriteLine($"  ({sw.Elapsed.TotalSeconds:0.0} s, exit {child.ExitCode}, {logLines} exporter log lines -> {logPath}; load average now {Proc.LoadAverage()})");
            failed += child.ExitCode == 0 ? 0 : 1;
        }

        Console.WriteLine();
        Print(rows);
        Console.WriteLine($"\ntotal {total.Elapsed.TotalSeconds:0.0} s; {(failed == 0 ? "every scenario counted every event exactly" : $"{failed} scenario(s) FAILED")}");
        return failed == 0 ? 0 : 1;
    }

    private static bool IsOptimized(Assembly assembly) =>
        assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled != true;

    private static void Print(List<string[]> rows)
    {
        string[] header = ["", "figure", "value", "notes"];
        var widths = new int[3];
        foreach (var r in rows.Prepend(header))
        {
            for (var i = 0; i < 3; i++)
            {
                widths[i] = Math.Max(widths[i], r.ElementAtOrDefault(i)?.Length ?? 0);
            }
        }

        foreach (var r in rows.Prepend(header))
        {
            Console.WriteLine($"{r[0].PadRight(widths[0])}  {r[1].PadRight(widths[1])}  {r[2].PadLeft(widths[2])}  {r.ElementAtOrDefault(3)}");
        }
    }
}

internal static class Report
{
    /// <summary>A progress line for people.</summary>
    public static void Note(string text) => Console.WriteLine($"NOTE\t{text}");

    /// <summary>One table row: printed for people and tagged for the orchestrator.</summary>
    public static void Row(string scenario, string figure, string value, string notes)
    {
        Console.WriteLine($"ROW\t{scenario}\t{figure}\t{value}\t{notes}");
        Console.Out.Flush();
    }
}
