using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace QmpExporter.Telemetry;

/// <summary>
/// The standard <c>process_*</c> family of Prometheus client libraries, read from <c>/proc/self</c> at collection time,
/// so that the usual exporter dashboards and alerts (CPU, memory, file descriptors near the limit, restarts) work.
/// </summary>
internal static class ProcessMetrics
{
    /// <summary>The family's names, types and help, as served (for documentation).</summary>
    public static readonly (string Name, string Type, string Help)[] Families =
    [
        ("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds."),
        ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes."),
        ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes."),
        ("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds."),
        ("process_open_fds", "gauge", "Number of open file descriptors."),
        ("process_max_fds", "gauge", "Maximum number of open file descriptors."),
    ];

    public static void Register(Meter meter)
    {
        using var self = Process.GetCurrentProcess();
        double startTime = new DateTimeOffset(self.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0;

        meter.CreateObservableCounter("process_cpu_seconds_total", () => Read(p => p.TotalProcessorTime.TotalSeconds),
            description: Families[0].Help);
        meter.CreateObservableGauge("process_resident_memory_bytes", () => Read(p => p.WorkingSet64),
            description: Families[1].Help);
        meter.CreateObservableGauge("process_virtual_memory_bytes", () => Read(p => p.VirtualMemorySize64),
            description: Families[2].Help);
        meter.CreateObservableGauge("process_start_time_seconds", () => startTime,
            description: Families[3].Help);
        meter.CreateObservableGauge("process_open_fds", () => (double)Directory.EnumerateFileSystemEntries("/proc/self/fd").Count(),
            description: Families[4].Help);
        meter.CreateObservableGauge("process_max_fds", MaxFileDescriptors,
            description: Families[5].Help);
    }

    private static double Read(Func<Process, double> value)
    {
        using var self = Process.GetCurrentProcess();
        return value(self);
    }

    /// <summary>The soft limit, from the "Max open files" line of /proc/self/limits ("unlimited" is +Inf).</summary>
    private static double MaxFileDescriptors()
    {
        foreach (var line in File.ReadLines("/proc/self/limits"))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var soft = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return soft == "unlimited" ? double.PositiveInfinity : double.Parse(soft, CultureInfo.InvariantCulture);
            }
        }

        return double.NaN;
    }
}
