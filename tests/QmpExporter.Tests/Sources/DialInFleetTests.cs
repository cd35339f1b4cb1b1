using System.Globalization;
using QmpExporter.Tests.RealQemu;
using QmpExporter.Tests.RealQemu.Events;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Sources;

/// <summary>
/// Twenty real QEMUs dial in to one exporter; each is driven through its own control monitor, which stays free; five
/// are killed and leave after the (shortened) grace; the exporter restarts and the fifteen others dial in again.
/// </summary>
public sealed class DialInFleetTests : IDisposable
{
    private const int Fleet = 20;
    private const int Killed = 5;
    private readonly string listen = DialIn.NewListenPath();

    public void Dispose() => DialIn.Remove(listen);

    [Fact]
    public async Task Twenty_QEMUs_dial_in_are_counted_exactly_leave_after_the_grace_and_come_back_after_an_exporter_restart()
    {
        string[] settings = ["--listen", listen, "--QmpExporter:DepartedVmGrace=00:00:03"];
        var exporter = await ExporterHost.StartAsync(settings);
        var names = Enumerable.Range(0, Fleet).Select(i => RealQemuAssert.UniqueName($"f{i:00}")).ToArray();
        var vms = await Task.WhenAll(names.Select(n => DialIn.StartAsync(n, listen)));
        try
        {
            await exporter.WaitForAsync(s => names.All(n => s.Of(n, "qmp_up") == 1), "all twenty VMs up under their -name", TimeSpan.FromSeconds(60));

            // Through each VM's own control monitor: run, pause, reset while paused, run again; the even ones end paused.
            await Task.WhenAll(vms.Select(async (vm, i) =>
            {
                await vm.ExecuteAsync("cont");
                await vm.ExecuteAsync("stop");
                await vm.ExecuteAsync("system_reset");
                await vm.ExecuteAsync("cont");
                if (i % 2 == 0)
                {
                    await vm.ExecuteAsync("stop");
                }
            }));
            await exporter.SettleAsync("every VM's events and state as its control monitor saw them",
                s => ControlTruth.FirstOf([.. names.Select((n, i) => ControlTruth.FirstOf(s.EventsDiff(n, vms[i]), s.StatusDiff(n, i % 2 == 0 ? "paused" : "running")))]),
                TimeSpan.FromSeconds(60));
            var counted = await exporter.ScrapeAsync();
            for (var i = 0; i < Fleet; i++)
            {
                Assert.Equal(i % 2 == 0 ? 2 : 1, counted.Of(names[i], "qemu_stops_total"));
                Assert.Equal(1, counted.Of(names[i], "qemu_resets_total", ("guest", "false"), ("reason", "host-qmp-system-reset")));
                Assert.Equal(vms[i].Pid.ToString(CultureInfo.InvariantCulture), Scrape.Labels("{" + counted.SeriesOf(names[i], "qemu_info").Keys.Single() + "}")["pid"]);
            }

            // Killed QEMUs leave: qmp_up goes at once (no disconnect alert), everything else after the grace.
            foreach (var vm in vms.Take(Killed))
            {
                vm.Kill();
            }

            await exporter.WaitForAsync(s => names.Take(Killed).All(n => !s.Text.Contains($"vm=\"{n}\"", StringComparison.Ordinal)), "the killed VMs' series released", TimeSpan.FromSeconds(60));
            var left = await exporter.ScrapeAsync();
            Assert.All(names.Skip(Killed), n => Assert.Equal(1, left.Of(n, "qmp_up")));

            // A new exporter on the same path: the fifteen redial (reconnect=5) and are re-synced from QEMU.
            await exporter.DisposeAsync();
            exporter = await ExporterHost.StartAsync(settings);
            var back = await exporter.WaitForAsync(
                s => names.Skip(Killed).All(n => s.Of(n, "qmp_up") == 1), "the fifteen back after the exporter's restart", TimeSpan.FromSeconds(20));
            for (var i = Killed; i < Fleet; i++)
            {
                Assert.Null(back.StatusDiff(names[i], i % 2 == 0 ? "paused" : "running"));
                Assert.Equal(i % 2 == 0 ? "paused" : "running", await vms[i].StatusAsync());
            }

            Assert.All(names.Take(Killed), n => Assert.DoesNotContain($"vm=\"{n}\"", back.Text, StringComparison.Ordinal));
        }
        finally
        {
            await exporter.DisposeAsync();
            foreach (var vm in vms)
            {
                await vm.DisposeAsync();
            }
        }
    }
}
