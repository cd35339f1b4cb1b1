using QmpExporter.Mappings;
using QmpExporter.Telemetry;

namespace QmpExporter.Tests.Mappings;

public sealed class MigrationMappingTests : IDisposable
{
    private readonly MappingHarness vm = new();

    public void Dispose() => vm.Dispose();

    [Fact]
    public void A_migration_moves_through_statuses_and_passes()
    {
        vm.Event("""{"timestamp": {"seconds": 1795624783, "microseconds": 56980}, "event": "MIGRATION", "data": {"status": "setup"}}""");
        Assert.Equal(0, vm.Value(MigrationMapping.MigrationPass));
        Assert.True(vm.Vm.MigrationActive);

        vm.Event("""{"timestamp": {"seconds": 1795624783, "microseconds": 61528}, "event": "MIGRATION_PASS", "data": {"pass": 1}}""");
        vm.Event("""{"timestamp": {"seconds": 1795624783, "microseconds": 61690}, "event": "MIGRATION", "data": {"status": "active"}}""");
        vm.Event("""{"timestamp": {"seconds": 1449669631, "microseconds": 239225}, "event": "MIGRATION_PASS", "data": {"pass": 2}}""");
        Assert.Equal(2, vm.Value(MigrationMapping.MigrationPass));
        Assert.Equal(1, vm.Value(MigrationMapping.MigrationStatus.With("status", "active")));
        Assert.Equal(0, vm.Value(MigrationMapping.MigrationStatus.With("status", "setup")));

        vm.Event("""{"timestamp": {"seconds": 1432121972, "microseconds": 744001}, "event": "MIGRATION", "data": {"status": "completed"}}""");
        Assert.Equal(1, vm.Value(MigrationMapping.Migrations.With("result", "completed")));
        Assert.Equal(1, vm.Value(MigrationMapping.MigrationStatus.With("status", "completed")));
        Assert.False(vm.Vm.MigrationActive);
        Assert.Equal(2, vm.Value(MigrationMapping.MigrationPass));
    }

    [Fact]
    public void Failed_and_cancelled_migrations_count_by_result()
    {
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "MIGRATION", "data": {"status": "cancelling"}}""");
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 1}, "event": "MIGRATION", "data": {"status": "cancelled"}}""");
        vm.Event("""{"timestamp": {"seconds": 1795624785, "microseconds": 419550}, "event": "MIGRATION", "data": {"status": "failed"}}""");

        Assert.Equal(1, vm.Value(MigrationMapping.Migrations.With("result", "cancelled")));
        Assert.Equal(1, vm.Value(MigrationMapping.Migrations.With("result", "failed")));
        Assert.Null(vm.Value(MigrationMapping.Migrations.With("result", "cancelling")));
    }

    [Fact]
    public void Query_migrate_on_connect_restores_status_and_pass()
    {
        var polling = new PollSettings(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15), TimeSpan.FromMinutes(5));
        vm.Reply<MigrationMapping>("{}");
        Assert.Equal(0, vm.Count(MigrationMapping.MigrationStatus));

        vm.Reply<MigrationMapping>("""{"status": "active", "total-time": 1200, "ram": {"transferred": 123, "remaining": 456, "total": 134217728, "dirty-sync-count": 3}}""");
        Assert.Equal(3, vm.Value(MigrationMapping.MigrationPass));
        Assert.Equal(1, vm.Value(MigrationMapping.MigrationStatus.With("status", "active")));
        Assert.Equal(TimeSpan.FromSeconds(1), EventMappings.Queries.OfType<MigrationMapping>().Single().PollInterval(vm.Vm, polling));
    }

    [Fact]
    public void Progress_gauges_follow_query_migrate_and_the_final_reply_fills_each_histogram_once()
    {
        var polling = new PollSettings(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15), TimeSpan.FromMinutes(5));
        vm.Series.Seed();
        vm.Event("""{"timestamp": {"seconds": 1795624783, "microseconds": 56980}, "event": "MIGRATION", "data": {"status": "setup"}}""");

        // qapi/migration.json query-migrate example 4: "Migration is being performed and is block migration", with
        // the rate members MigrationStats documents.
        vm.Reply<MigrationMapping>("""
            {"status": "active", "total-time": 12345, "setup-time": 12345, "expected-downtime": 12345,
             "ram": {"transferred": 123, "remaining": 123, "total": 246, "duplicate": 123, "normal": 123, "normal-bytes": 123456,
                     "dirty-sync-count": 15, "dirty-pages-rate": 2500, "page-size": 4096, "mbps": 268.5, "postcopy-requests": 0},
             "disk": {"total": 20971520, "remaining": 20880384, "transferred": 91136}}
            """);
        Assert.Equal(123, vm.Value(MigrationProgress.RamTransferred));
        Assert.Equal(123, vm.Value(MigrationProgress.RamRemaining));
        Assert.Equal(246, vm.Value(MigrationProgress.RamTotal));
        Assert.Equal(2500, vm.Value(MigrationProgress.DirtyPagesRate));
        Assert.Equal(4096, vm.Value(MigrationProgress.PageSize));
        Assert.Equal(268.5 * 125000, vm.Value(MigrationProgress.Throughput));
        Assert.Equal(12.345, vm.Value(MigrationProgress.ExpectedDowntime));
        Assert.Equal(0, vm.Value(MigrationProgress.PostcopyRequests));
        Assert.Equal(20880384, vm.Value(MigrationProgress.DiskRemaining));
        Assert.Equal(91136, vm.Value(MigrationProgress.DiskTransferred));
        Assert.Equal(20971520, vm.Value(MigrationProgress.DiskTotal));
        Assert.Null(vm.Series.Histogram(MigrationMapping.Downtime));

        vm.Event("""{"timestamp": {"seconds": 1432121972, "microseconds": 744001}, "event": "MIGRATION", "data": {"status": "completed"}}""");

        // Example 2: "Migration is done and has succeeded"; asked twice, it is observed once.
        const string done = """
            {"status": "completed", "total-time": 12356, "setup-time": 12345, "downtime": 12345,
             "ram": {"transferred": 123, "remaining": 0, "total": 246, "duplicate": 123, "normal": 123, "normal-bytes": 123456, "dirty-sync-count": 15}}
            """;
        vm.Reply<MigrationMapping>(done);
        vm.Reply<MigrationMapping>(done);
        Assert.Equal(0, vm.Value(MigrationProgress.RamRemaining));
        Assert.Equal((1, 12.356), Figures(MigrationMapping.Duration));
        Assert.Equal((1, 12.345), Figures(MigrationMapping.Downtime));
        Assert.Equal((1, 12.345), Figures(MigrationMapping.Setup));
        var downtime = vm.Series.Histogram(MigrationMapping.Downtime)!.Value;
        var bounds = MigrationMapping.Downtime.Bounds;
        Assert.Equal(0, downtime.Cumulative[Array.IndexOf(bounds, 10.0)]);
        Assert.Equal(1, downtime.Cumulative[Array.IndexOf(bounds, 30.0)]);
        Assert.Equal(bounds.Length + 1, downtime.Cumulative.Length);

        // The progress gauges stay for the retention period, then go.
        var retention = polling.FinishedJobRetention;
        Assert.Equal(vm.Time.GetUtcNow() + retention, EventMappings.Due(vm.Vm, vm.Time.GetUtcNow(), polling));
        vm.Time.Advance(retention);
        EventMappings.Due(vm.Vm, vm.Time.GetUtcNow(), polling);
        Assert.Null(vm.Value(MigrationProgress.RamTotal));
        Assert.Equal((1, 12.356), Figures(MigrationMapping.Duration));
    }

    [Fact]
    public void A_migration_into_a_vm_waiting_in_inmigrate_counts_as_incoming()
    {
        vm.Series.Seed();
        vm.Reply<RunStateMapping>("""{"status": "inmigrate", "singlestep": false, "running": false}""");
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "MIGRATION", "data": {"status": "active"}}""");
        vm.Event("""{"timestamp": {"seconds": 2, "microseconds": 0}, "event": "RESUME"}""");
        vm.Event("""{"timestamp": {"seconds": 2, "microseconds": 1}, "event": "MIGRATION", "data": {"status": "completed"}}""");
        vm.Reply<MigrationMapping>("""{"status": "completed"}""");

        Assert.Equal(1, vm.Value(MigrationMapping.IncomingMigrations.With("result", "completed")));
        Assert.Equal(0, vm.Value(MigrationMapping.Migrations.With("result", "completed")));
        Assert.Null(vm.Series.Histogram(MigrationMapping.Duration));
    }

    private (long Count, double Sum) Figures(MetricFamily histogram) =>
        vm.Series.Histogram(histogram) is { } h ? (h.Count, h.Sum) : (0, 0);
}
