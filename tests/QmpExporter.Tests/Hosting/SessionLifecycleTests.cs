using System.Diagnostics;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Hosting;

/// <summary>Stopping the exporter (or removing a VM) ends its QMP sessions at once.</summary>
public sealed class SessionLifecycleTests
{
    [Fact]
    public async Task Stopping_the_exporter_does_not_wait_for_the_next_poll()
    {
        // The stop must not depend on a poll coming due (it once spun until then).
        await using var vm = new FakeVm("web1");
        var exporter = await ExporterHost.StartAsync("--vm", vm.Flag, "--QmpExporter:BlockStatsInterval=00:00:02");
        Stopwatch clock;
        try
        {
            await exporter.WaitForAsync(s => s.IsSettled(vm.Name), "web1 connected and queried");
        }
        finally
        {
            clock = Stopwatch.StartNew();
            await exporter.DisposeAsync();
            clock.Stop();
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"stopping the exporter took {clock.Elapsed}");
    }
}
