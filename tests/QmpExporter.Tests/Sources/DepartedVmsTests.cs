using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using QmpExporter.Mappings;
using QmpExporter.Sources;
using QmpExporter.Telemetry;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Sources;

/// <summary>
/// A VM that left loses qmp_up at once (so `qmp_up == 0` cannot page for it) and its other series after the grace;
/// one that comes back within the grace keeps them.
/// </summary>
public sealed class DepartedVmsTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromMinutes(5);
    private readonly FakeTimeProvider time = new();
    private readonly VmRegistry registry = new(EventMappings.Catalog);

    [Fact]
    public async Task A_departed_VM_has_no_qmp_up_at_once_and_no_series_after_the_grace()
    {
        var series = Vm("gone");
        using var departed = new DepartedVms(registry, Grace, time, NullLogger<DepartedVms>.Instance);
        var released = 0;

        departed.Depart("gone", () => { released++; return ValueTask.FromResult(true); });

        Assert.Null(series.Get(SessionMetrics.Up));
        Assert.Equal(3, series.Get(RunStateMapping.Stops));
        time.Advance(Grace - TimeSpan.FromSeconds(1));
        Assert.Same(series, registry.Find("gone"));
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.True(() => registry.Find("gone") is null, "the VM released after the grace");
        Assert.Equal(1, released);
    }

    [Fact]
    public async Task A_VM_back_within_the_grace_keeps_its_series()
    {
        var series = Vm("back");
        using var departed = new DepartedVms(registry, Grace, time, NullLogger<DepartedVms>.Instance);
        var released = false;
        departed.Depart("back", () => { released = true; return ValueTask.FromResult(true); });

        time.Advance(Grace / 2);
        Assert.True(departed.Return("back"));
        time.Advance(Grace * 2);
        await Task.Yield();

        Assert.False(released);
        Assert.Same(series, registry.Find("back"));
        Assert.Equal(3, series.Get(RunStateMapping.Stops));
        Assert.Equal(0, departed.Count);
    }

    private VmSeries Vm(string name)
    {
        var series = registry.GetOrAdd(name);
        series.Set(SessionMetrics.Up, 1);
        series.Add(RunStateMapping.Stops, 3);
        return series;
    }
}
