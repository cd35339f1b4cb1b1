using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using QmpExporter.Tests.Support;
using Xunit.Sdk;

namespace QmpExporter.Tests.RealQemu;

/// <summary>
/// The ground truth of a <see cref="QemuVm"/>'s control monitor (its events, and query replies it gets) turned into
/// the series the exporter must serve, and one VM's series read back from a scrape, both as
/// <c>label="value",...</c> (sorted, without <c>vm</c>) → value, so that they compare exactly and print readably.
/// </summary>
internal static partial class ControlTruth
{
    /// <summary>Null when the two sets of series are equal, else both, printed.</summary>
    public static string? Diff(string what, IReadOnlyDictionary<string, double> expected, IReadOnlyDictionary<string, double> actual)
    {
        var e = Describe(expected);
        var a = Describe(actual);
        return e == a ? null : $"{what}: expected [{e}] but the exporter has [{a}]";
    }

    public static string Describe(IReadOnlyDictionary<string, double> series) =>
        string.Join("; ", series.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{{{kv.Key}}} {kv.Value}")));

    /// <summary>Null once the exporter counted exactly as many events of each name as the control monitor saw.</summary>
    public static string? EventsDiff(this Scrape scrape, string vm, QemuVm qemu)
    {
        var expected = qemu.ControlEvents.Events.GroupBy(e => e.Name, StringComparer.Ordinal)
            .ToDictionary(g => Scrape.Key(("event", g.Key)), g => (double)g.Count(), StringComparer.Ordinal);
        var actual = scrape.SeriesOf(vm, "qmp_events_total").Where(kv => kv.Value != 0).ToDictionary(StringComparer.Ordinal);
        return Diff("qmp_events_total", expected, actual);
    }

    /// <summary>Null when qemu_vm_status has exactly <paramref name="status"/> at 1 (and every other status at 0).</summary>
    public static string? StatusDiff(this Scrape scrape, string vm, string status)
    {
        var series = scrape.SeriesOf(vm, "qemu_vm_status");
        return series.GetValueOrDefault(Scrape.Key(("status", status))) == 1 && series.Values.Sum() == 1
            ? null
            : $"qemu_vm_status should be {status}: [{Describe(series)}]";
    }

    /// <summary>The control monitor's query-status now.</summary>
    public static async Task<string> StatusAsync(this QemuVm qemu) =>
        (await qemu.ExecuteAsync("query-status")).GetProperty("status").GetString()!;

    /// <summary>The first non-null of several mismatch checks.</summary>
    public static string? FirstOf(params string?[] mismatches) => mismatches.FirstOrDefault(m => m is not null);

    /// <summary>
    /// The stable label the exporter must give each auto-generated node name (<c>#block123</c>), from the control
    /// monitor's query-block: the drive id, or the guest device for -blockdev.
    /// </summary>
    public static async Task<Dictionary<string, string>> AutoNodeNamesAsync(QemuVm qemu)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var drive in (await qemu.ExecuteAsync("query-block")).EnumerateArray())
        {
            if (drive.TryGetProperty("inserted", out var inserted) && inserted.GetProperty("node-name").GetString() is { Length: > 0 } node && node[0] == '#')
            {
                var device = drive.GetProperty("device").GetString() ?? "";
                names[node] = device.Length > 0 ? device : drive.TryGetProperty("qdev", out var qdev) ? qdev.GetString() ?? "" : "";
            }
        }

        return names;
    }

    public static string NodeLabel(string? nodeName, IReadOnlyDictionary<string, string> autoNames) =>
        string.IsNullOrEmpty(nodeName) ? "" : nodeName[0] == '#' ? autoNames.GetValueOrDefault(nodeName, "") : nodeName;

    /// <summary>qemu_block_io_errors_total as the control monitor's BLOCK_IO_ERROR events count it.</summary>
    public static Dictionary<string, double> IoErrors(QemuVm qemu, IReadOnlyDictionary<string, string> autoNames) =>
        qemu.ControlEvents.Events.Where(e => e.Name == "BLOCK_IO_ERROR").Select(e =>
        {
            var d = e.DataOf();
            var nospace = d.TryGetProperty("nospace", out var ns) ? (ns.GetBoolean() ? "true" : "false") : "";
            return Scrape.Key(("device", d.GetProperty("device").GetString()!), ("node_name", NodeLabel(e.Str("node-name"), autoNames)),
                ("operation", d.GetProperty("operation").GetString()!), ("action", d.GetProperty("action").GetString()!), ("nospace", nospace));
        }).CountBy();

    /// <summary>qemu_block_failed_operations_total as the control monitor's query-blockstats says it now.</summary>
    public static async Task<Dictionary<string, double>> FailedOperationsAsync(QemuVm qemu, IReadOnlyDictionary<string, string> autoNames)
    {
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var drive in (await qemu.ExecuteAsync("query-blockstats")).EnumerateArray())
        {
            var device = drive.TryGetProperty("device", out var d) ? d.GetString() ?? "" : "";
            var node = NodeLabel(drive.TryGetProperty("node-name", out var n) ? n.GetString() : null, autoNames);
            var stats = drive.GetProperty("stats");
            foreach (var (field, operation) in new[] { ("failed_rd_operations", "read"), ("failed_wr_operations", "write"), ("failed_flush_operations", "flush"), ("failed_unmap_operations", "unmap") })
            {
                series[Scrape.Key(("device", device), ("node_name", node), ("operation", operation))] = stats.GetProperty(field).GetInt64();
            }
        }

        return series;
    }

    /// <summary>qemu_block_jobs_finished_total from BLOCK_JOB_COMPLETED (failed when it has an error) and _CANCELLED.</summary>
    public static Dictionary<string, double> JobOutcomes(QemuVm qemu) =>
        qemu.ControlEvents.Events.Where(e => e.Name is "BLOCK_JOB_COMPLETED" or "BLOCK_JOB_CANCELLED").Select(e =>
        {
            var d = e.DataOf();
            var result = e.Name == "BLOCK_JOB_CANCELLED" ? "cancelled" : d.TryGetProperty("error", out _) ? "failed" : "completed";
            return Scrape.Key(("type", d.GetProperty("type").GetString()!), ("result", result));
        }).CountBy();

    /// <summary>qemu_block_job_errors_total from BLOCK_JOB_ERROR.</summary>
    public static Dictionary<string, double> JobErrors(QemuVm qemu) =>
        qemu.ControlEvents.Events.Where(e => e.Name == "BLOCK_JOB_ERROR")
            .Select(e => Scrape.Key(("operation", e.Str("operation")!), ("action", e.Str("action")!))).CountBy();

    /// <summary>The job gauges (offset, len, speed, ready) of one job, from the control's final BLOCK_JOB_COMPLETED/_CANCELLED.</summary>
    public static RecordedEvent FinalJobEvent(this QemuVm qemu, string job) =>
        qemu.JobEvents(job).Last(e => e.Name is "BLOCK_JOB_COMPLETED" or "BLOCK_JOB_CANCELLED");

    public static long Long(this RecordedEvent e, string member) => e.DataOf().GetProperty(member).GetInt64();

    /// <summary>A job gauge of one VM, or null when the series is absent.</summary>
    public static double? Job(this Scrape scrape, string vm, string metric, string job, string type) =>
        scrape.Of(vm, metric, ("job", job), ("type", type));

    private static Dictionary<string, double> CountBy(this IEnumerable<string> keys) =>
        keys.GroupBy(k => k, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (double)g.Count(), StringComparer.Ordinal);

}
