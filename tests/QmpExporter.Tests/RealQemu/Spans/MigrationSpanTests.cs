using QmpExporter.Spans;
using QmpExporter.Telemetry;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu.Spans;

/// <summary>The qemu.migration span of a real multi-pass migration.</summary>
public sealed class MigrationSpanTests : IDisposable
{
    private readonly SpanCollector spans = new();

    public void Dispose() => spans.Dispose();

    [Fact]
    public async Task A_multi_pass_migration_is_one_span_with_every_pass_and_the_final_ram_figures()
    {
        await using var rig = await QemuRig.StartAsync("smigr", new QemuVmOptions { BootSector = QemuRecipes.DirtyingBootSector(), Args = ["-S"] }, exporterArgs: [JobRig.FastPolling]);
        var (qemu, a) = (rig.Qemu, rig.Vm);
        await qemu.ExecuteAsync("cont");
        await qemu.WaitForSerialAsync('B');

        var completed = await qemu.MigrateWithPassesAsync(minPasses: 3);
        var span = await spans.WaitForSpanAsync(QmpTracing.MigrationSpan, a);
        var info = await qemu.ExecuteAsync("query-migrate");

        Assert.Single(spans.Spans(QmpTracing.MigrationSpan, a));
        var control = qemu.ControlEvents.Events.Where(e => e.Name is "MIGRATION" or "MIGRATION_PASS").ToList();
        Assert.Equal(
            control.Select(e => e.Name == "MIGRATION"
                ? SpanCollector.Describe(e, (QmpTracing.MigrationStatus, e.Str("status")))
                : SpanCollector.Describe(e, (QmpTracing.MigrationPass, e.Long("pass")))),
            span.Events.Select(SpanCollector.Describe));
        var passes = span.Events.Where(e => e.Name == "MIGRATION_PASS").Select(e => (long)e.Tags.Single(t => t.Key == QmpTracing.MigrationPass).Value!).ToList();
        Assert.True(passes.Count >= 3, $"{passes.Count} passes");
        Assert.Equal(Enumerable.Range(1, passes.Count).Select(p => (long)p), passes);

        Assert.Equal("completed", span.GetTagItem(QmpTracing.MigrationResult));
        var ram = info.GetProperty("ram");
        Assert.Equal(ram.GetProperty("dirty-sync-count").GetInt64(), span.GetTagItem("qemu.migration.ram.dirty_sync_count"));
        Assert.Equal(passes[^1], span.GetTagItem("qemu.migration.ram.dirty_sync_count"));
        Assert.Equal(ram.GetProperty("transferred").GetInt64(), span.GetTagItem("qemu.migration.ram.transferred"));
        Assert.Equal(ram.GetProperty("total").GetInt64(), span.GetTagItem("qemu.migration.ram.total"));
        Assert.Equal(info.GetProperty("total-time").GetInt64(), span.GetTagItem(QmpTracing.MigrationTotalTime));
        Assert.Equal(info.GetProperty("downtime").GetInt64(), span.GetTagItem(QmpTracing.MigrationDowntime));
        Assert.Equal(SpanCollector.Micros(control[0]), SpanCollector.Micros(span.StartTimeUtc));
        Assert.Equal(SpanCollector.Micros(completed), SpanCollector.Micros(span.StartTimeUtc + span.Duration));
    }
}
