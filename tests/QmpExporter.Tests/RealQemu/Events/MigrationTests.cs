using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu.Events;

/// <summary>MIGRATION and MIGRATION_PASS from real outgoing migrations to <c>exec:</c> destinations.</summary>
public sealed class MigrationTests
{
    [Fact]
    public async Task A_migration_of_a_dirtying_guest_takes_several_passes_and_ends_completed()
    {
        await using var rig = await QemuRig.StartAsync("migr", new QemuVmOptions { BootSector = QemuRecipes.DirtyingBootSector(), Args = ["-S"] }, exporterArgs: [JobRig.FastPolling]);
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);
        await qemu.ExecuteAsync("cont");
        await qemu.WaitForSerialAsync('B');

        await qemu.MigrateWithPassesAsync(minPasses: 3);
        var lastPass = qemu.ControlEvents.Events.Last(e => e.Name == "MIGRATION_PASS").Long("pass");
        Assert.True(lastPass >= 3, $"only {lastPass} passes");
        Assert.Equal(Enumerable.Range(1, (int)lastPass).Select(p => (long)p), qemu.ControlEvents.Events.Where(e => e.Name == "MIGRATION_PASS").Select(e => e.Long("pass")));

        var status = await qemu.StatusAsync();
        Assert.Equal("postmigrate", status);
        var scrape = await exporter.SettleAsync("the completed migration", s => ControlTruth.FirstOf(
            s.EventsDiff(a, qemu),
            s.StatusDiff(a, status),
            s.Of(a, "qemu_migration_pass") == lastPass ? null : $"qemu_migration_pass {s.Of(a, "qemu_migration_pass")} != {lastPass}",
            s.Of(a, "qemu_migration_status", ("status", "completed")) == 1 ? null : "qemu_migration_status{status=\"completed\"} is not 1"));
        RealQemuAssert.EventsMatchControl(scrape, a, qemu);
        Assert.Equal(ControlTruth.Describe(new Dictionary<string, double> { [Scrape.Key(("result", "completed"))] = 1 }),
            ControlTruth.Describe(NonZero(scrape.SeriesOf(a, "qemu_migrations_total"))));
        Assert.Equal(1, scrape.SeriesOf(a, "qemu_migration_status").Values.Sum());
        Assert.Equal(0, scrape.Of(a, "qemu_vm_running"));
    }

    [Fact]
    public async Task A_cancelled_and_a_failed_migration_are_counted_by_result()
    {
        await using var rig = await QemuRig.StartAsync("migbad", exporterArgs: [JobRig.FastPolling]);
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);
        await qemu.PrepareMigrationAsync(maxBandwidth: 100000);

        await qemu.ExecuteAsync("migrate", """{"uri": "exec:cat > /dev/null"}""");
        await qemu.WaitForMigrationAsync("active");
        await exporter.SettleAsync("the migration active", s => s.Of(a, "qemu_migration_status", ("status", "active")) == 1 ? null : "not active");
        await qemu.ExecuteAsync("migrate_cancel");
        await qemu.WaitForMigrationAsync("cancelled");
        await exporter.SettleAsync("the cancelled migration", s => ControlTruth.FirstOf(
            s.EventsDiff(a, qemu),
            s.Of(a, "qemu_migration_status", ("status", "cancelled")) == 1 ? null : "not cancelled"));

        await qemu.ExecuteAsync("migrate", """{"uri": "exec:exit 1"}""");
        await qemu.WaitForMigrationAsync("failed");

        var statuses = qemu.ControlEvents.Events.Where(e => e.Name == "MIGRATION").Select(e => e.Str("status")!).ToList();
        var expected = statuses.Where(s => s is "completed" or "failed" or "cancelled")
            .GroupBy(s => Scrape.Key(("result", s)), StringComparer.Ordinal).ToDictionary(g => g.Key, g => (double)g.Count(), StringComparer.Ordinal);
        var lastSetup = qemu.ControlEvents.Events.ToList().FindLastIndex(e => e.Name == "MIGRATION" && e.Str("status") == "setup");
        var lastPass = qemu.ControlEvents.Events.Skip(lastSetup).LastOrDefault(e => e.Name == "MIGRATION_PASS")?.Long("pass") ?? 0;
        var status = await qemu.StatusAsync();
        Assert.Equal("running", status);
        var scrape = await exporter.SettleAsync("both migrations counted", s => ControlTruth.FirstOf(
            s.EventsDiff(a, qemu),
            s.StatusDiff(a, status),
            ControlTruth.Diff("qemu_migrations_total", expected, NonZero(s.SeriesOf(a, "qemu_migrations_total"))),
            s.Of(a, "qemu_migration_status", ("status", "failed")) == 1 ? null : "not failed",
            s.Of(a, "qemu_migration_pass") == lastPass ? null : $"qemu_migration_pass {s.Of(a, "qemu_migration_pass")} != {lastPass}"));
        RealQemuAssert.EventsMatchControl(scrape, a, qemu);
        Assert.Equal(1, scrape.Of(a, "qemu_migrations_total", ("result", "cancelled")));
        Assert.Equal(1, scrape.Of(a, "qemu_migrations_total", ("result", "failed")));
        Assert.Equal(1, scrape.SeriesOf(a, "qemu_migration_status").Values.Sum());
        Assert.Equal(1, scrape.Of(a, "qemu_vm_running"));
    }

    /// <summary>qemu_migrations_total starts at 0 for every result (README): the control's events give the non-zero ones.</summary>
    private static Dictionary<string, double> NonZero(Dictionary<string, double> series) =>
        series.Where(kv => kv.Value != 0).ToDictionary(StringComparer.Ordinal);
}
