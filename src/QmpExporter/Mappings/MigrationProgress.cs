using System.Text.Json;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// The progress gauges of the running (or last) outgoing migration, from query-migrate's MigrationInfo
/// (qapi/migration.json: MigrationStats under <c>ram</c>, DiskMigrationStats... under <c>disk</c> when block migration
/// is used). They keep their last value for QmpExporter:FinishedJobRetention after the migration ends.
/// </summary>
internal static class MigrationProgress
{
    private const string Source = ", for the current or last outgoing migration (query-migrate, polled while it runs; kept for QmpExporter:FinishedJobRetention after it ends).";

    public static readonly MetricFamily RamTransferred = Gauge("qemu_migration_ram_transferred_bytes", "RAM bytes sent (ram.transferred)");

    public static readonly MetricFamily RamRemaining = Gauge("qemu_migration_ram_remaining_bytes", "RAM bytes still to send (ram.remaining; when it stops shrinking pass after pass, the migration does not converge)");

    public static readonly MetricFamily RamTotal = Gauge("qemu_migration_ram_total_bytes", "Guest RAM bytes to migrate (ram.total)");

    public static readonly MetricFamily DirtyPagesRate = Gauge("qemu_migration_ram_dirty_pages_per_second", "Pages per second the guest dirties (ram.dirty-pages-rate, measured once per pass)");

    public static readonly MetricFamily PageSize = Gauge("qemu_migration_ram_page_size_bytes", "Page size the dirty-page rate counts in (ram.page-size)");

    public static readonly MetricFamily Throughput = Gauge("qemu_migration_throughput_bytes_per_second", "Throughput in bytes per second (ram.mbps, megabits per second, times 125000)");

    public static readonly MetricFamily ExpectedDowntime = Gauge("qemu_migration_expected_downtime_seconds", "Downtime QEMU expects if it stopped the guest now (expected-downtime, while active)");

    public static readonly MetricFamily PostcopyRequests = Gauge("qemu_migration_ram_postcopy_requests", "Page requests the destination made in postcopy (ram.postcopy-requests)");

    public static readonly MetricFamily DiskTransferred = Gauge("qemu_migration_disk_transferred_bytes", "Disk bytes sent by block migration (disk.transferred)");

    public static readonly MetricFamily DiskRemaining = Gauge("qemu_migration_disk_remaining_bytes", "Disk bytes block migration has still to send (disk.remaining)");

    public static readonly MetricFamily DiskTotal = Gauge("qemu_migration_disk_total_bytes", "Disk bytes block migration sends (disk.total)");

    public static IReadOnlyList<MetricFamily> Families { get; } =
        [RamTransferred, RamRemaining, RamTotal, DirtyPagesRate, PageSize, Throughput, ExpectedDowntime, PostcopyRequests, DiskTransferred, DiskRemaining, DiskTotal];

    /// <summary>Sets the gauges from the members the reply has; a member QEMU leaves out keeps its gauge.</summary>
    public static void Apply(JsonElement info, VmSeries series)
    {
        if (info.TryGetProperty("ram", out var ram) && ram.ValueKind == JsonValueKind.Object)
        {
            Set(series, RamTransferred, ram, "transferred");
            Set(series, RamRemaining, ram, "remaining");
            Set(series, RamTotal, ram, "total");
            Set(series, DirtyPagesRate, ram, "dirty-pages-rate");
            Set(series, PageSize, ram, "page-size");
            Set(series, Throughput, ram, "mbps", 1e6 / 8);
            Set(series, PostcopyRequests, ram, "postcopy-requests");
        }

        Set(series, ExpectedDowntime, info, "expected-downtime", 1e-3);
        if (info.TryGetProperty("disk", out var disk) && disk.ValueKind == JsonValueKind.Object)
        {
            Set(series, DiskTransferred, disk, "transferred");
            Set(series, DiskRemaining, disk, "remaining");
            Set(series, DiskTotal, disk, "total");
        }
    }

    private static MetricFamily Gauge(string name, string what) =>
        MetricFamily.Gauge(name, what + Source, [], 1, Teardown.SessionEnded);

    private static void Set(VmSeries series, MetricFamily family, JsonElement parent, string member, double scale = 1)
    {
        if (parent.TryGetProperty(member, out var value) && value.ValueKind == JsonValueKind.Number)
        {
            series.Set(family, value.GetDouble() * scale);
        }
    }
}
