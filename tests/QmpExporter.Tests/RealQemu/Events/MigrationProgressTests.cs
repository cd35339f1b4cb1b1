using System.Diagnostics;
using System.Text.Json;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu.Events;

/// <summary>
/// The migration progress gauges and the per-migration histograms of a real, throttled migration of a guest that
/// dirties RAM, each scrape bracketed by the control monitor's own query-migrate.
/// </summary>
public sealed class MigrationProgressTests
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task Progress_gauges_follow_query_migrate_and_each_histogram_holds_the_final_reply()
    {
        await using var qemu = await QemuVm.StartAsync(new QemuVmOptions { BootSector = QemuRecipes.DirtyingBootSector(), Args = ["-S"] });
        var a = RealQemuAssert.UniqueName("migprog");
        await using var exporter = await ExporterHost.StartAsync("--vm", $"{a}={qemu.ExporterSocket}", "--QmpExporter:ActivePollInterval=00:00:00.200");
        await exporter.WaitForAsync(s => s.Of(a, "qmp_up") == 1, $"vm {a} up");
        await qemu.ExecuteAsync("cont");
        await qemu.WaitForSerialAsync('B');

        await qemu.PrepareMigrationAsync(1 << 20, downtimeLimitMs: 1);
        await qemu.ExecuteAsync("migrate", """{"uri": "exec:cat > /dev/null"}""");
        var clock = Stopwatch.StartNew();
        var control = new List<(TimeSpan At, long Transferred)>();
        var compared = 0;
        var lastExported = 0.0;
        var deadline = TimeSpan.FromSeconds(60);
        while (Pass(qemu) < 3 && clock.Elapsed < deadline)
        {
            var before = await qemu.ExecuteAsync("query-migrate");
            control.Add((clock.Elapsed, Ram(before, "transferred")));
            var scrapedAt = clock.Elapsed;
            var scrape = await exporter.ScrapeAsync();
            var after = await qemu.ExecuteAsync("query-migrate");
            if (scrape.Of(a, "qemu_migration_ram_transferred_bytes") is { } transferred && Status(before) == "active" && Status(after) == "active")
            {
                // The exporter's figure is from a query-migrate of its own, at most one poll (plus slack for a loaded
                // machine) before the scrape: between the control's reply that long before and the one just after.
                var floor = control.LastOrDefault(c => c.At <= scrapedAt - Poll - TimeSpan.FromMilliseconds(300)).Transferred;
                Assert.InRange(transferred, floor, Ram(after, "transferred"));
                Assert.True(transferred >= lastExported, $"transferred went back from {lastExported} to {transferred}");
                lastExported = transferred;
                Assert.Equal(Ram(after, "total"), scrape.Of(a, "qemu_migration_ram_total_bytes"));
                Assert.Equal(Ram(after, "page-size"), scrape.Of(a, "qemu_migration_ram_page_size_bytes"));
                compared++;
            }

            await Task.Delay(100);
        }

        Assert.True(Pass(qemu) >= 3, $"only {Pass(qemu)} passes in {deadline}");
        Assert.True(compared >= 5, $"only {compared} scrapes compared while the migration ran");
        await qemu.ExecuteAsync("migrate-set-parameters", """{"max-bandwidth": 1073741824, "downtime-limit": 2000}""");
        await qemu.WaitForMigrationAsync("completed", TimeSpan.FromSeconds(30));

        var final = await qemu.ExecuteAsync("query-migrate");
        Assert.Equal("completed", Status(final));
        var expected = new Dictionary<string, double>
        {
            ["qemu_migration_duration_seconds_sum"] = Millis(final, "total-time"),
            ["qemu_migration_downtime_seconds_sum"] = Millis(final, "downtime"),
            ["qemu_migration_setup_seconds_sum"] = Millis(final, "setup-time"),
            ["qemu_migration_duration_seconds_count"] = 1,
            ["qemu_migration_downtime_seconds_count"] = 1,
            ["qemu_migration_setup_seconds_count"] = 1,
            ["qemu_migration_ram_transferred_bytes"] = Ram(final, "transferred"),
            ["qemu_migration_ram_remaining_bytes"] = Ram(final, "remaining"),
            ["qemu_migration_ram_total_bytes"] = Ram(final, "total"),
            ["qemu_migration_pass"] = Ram(final, "dirty-sync-count"),
        };
        var settled = await exporter.SettleAsync("the final figures", s => ControlTruth.Diff("final figures",
            expected, expected.Keys.ToDictionary(k => k, k => s.Of(a, k) ?? double.NaN, StringComparer.Ordinal)));
        Assert.Equal(1, settled.Of(a, "qemu_migration_downtime_seconds_bucket", ("le", "+Inf")));
        Assert.Equal(Millis(final, "downtime") <= 2.5 ? 1 : 0, settled.Of(a, "qemu_migration_downtime_seconds_bucket", ("le", "2.5")));
        Assert.Equal(1, settled.Of(a, "qemu_migrations_total", ("result", "completed")));
        Assert.Equal(0, settled.Of(a, "qemu_migrations_incoming_total", ("result", "completed")));
        Assert.Contains("# TYPE qemu_migration_downtime_seconds histogram", settled.Text, StringComparison.Ordinal);
        var check = await ExternalTool.RunAsync("promtool", ["check", "metrics"], stdin: settled.Text);
        Assert.True(check.ExitCode == 0, $"promtool check metrics rejected the scrape:\n{check.Output}");
    }

    private static long Pass(QemuVm qemu) =>
        qemu.ControlEvents.Events.Where(e => e.Name == "MIGRATION_PASS").Select(e => e.Long("pass")).DefaultIfEmpty(0).Max();

    private static string? Status(JsonElement info) => info.TryGetProperty("status", out var s) ? s.GetString() : null;

    private static long Ram(JsonElement info, string member) =>
        info.TryGetProperty("ram", out var ram) && ram.TryGetProperty(member, out var v) ? v.GetInt64() : 0;

    private static double Millis(JsonElement info, string member) => info.GetProperty(member).GetInt64() / 1000.0;
}
