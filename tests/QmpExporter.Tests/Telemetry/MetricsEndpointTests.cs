using Microsoft.Extensions.DependencyInjection;
using QmpExporter.Mappings;
using QmpExporter.Telemetry;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Telemetry;

/// <summary>/metrics over HTTP with many VMs: nothing merged into overflow, and VMs that are gone leave.</summary>
public sealed class MetricsEndpointTests
{
    [Fact]
    public async Task A_thousand_vms_and_more_are_all_served_and_removed_vms_disappear()
    {
        await using var exporter = await ExporterHost.StartAsync();
        var registry = exporter.Services.GetRequiredService<VmRegistry>();
        var prefix = "card-" + Guid.NewGuid().ToString("N")[..6] + "-";

        // A first scrape sizes the pipeline for an empty registry; then far more VMs arrive than that size allows.
        await exporter.ScrapeAsync();
        for (var i = 0; i < 1500; i++)
        {
            var vm = registry.GetOrAdd(prefix + i);
            vm.Set(SessionMetrics.Up, 1);
            vm.Add(MetricCatalog.Events.With("event", "STOP"), i);
            vm.Add(MetricCatalog.Events.With("event", "RESUME"), i);
            vm.Add(BlockIoErrorMapping.BlockIoErrors.With("device", "drive0").With("node_name", "disk0").With("operation", "read").With("action", "report").With("nospace", ""), 2);
        }

        var full = await exporter.ScrapeAsync();
        Assert.DoesNotContain("otel_metric_overflow", full.Text, StringComparison.Ordinal);
        Assert.Equal(1500, Enumerable.Range(0, 1500).Count(i => full.Value("qmp_up", ("vm", prefix + i)) == 1));
        Assert.Equal(1499, full.Value("qmp_events_total", ("vm", prefix + 1499), ("event", "RESUME")));
        Assert.Equal(1500, full.Samples.Count(s => s.Key.StartsWith("qemu_block_io_errors_total{", StringComparison.Ordinal) && s.Key.Contains(prefix, StringComparison.Ordinal) && s.Value == 2));

        for (var i = 100; i < 1500; i++)
        {
            registry.Remove(prefix + i);
        }

        var after = await exporter.ScrapeAsync();
        Assert.Equal(100, after.Samples.Keys.Count(k => k.StartsWith("qmp_up{", StringComparison.Ordinal) && k.Contains(prefix, StringComparison.Ordinal)));
        Assert.Equal(99, after.Value("qmp_events_total", ("vm", prefix + 99), ("event", "STOP")));
    }
}
