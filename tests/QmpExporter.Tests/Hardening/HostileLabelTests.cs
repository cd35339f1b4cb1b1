using System.Text;
using QmpExporter.Tests.Hosting;
using QmpExporter.Tests.RealQemu;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Hardening;

/// <summary>A VM that sends huge or countless label values cannot grow <c>/metrics</c> past what every scrape can carry.</summary>
public sealed class HostileLabelTests
{
    private const int MaxLabelLength = 128;

    [Fact]
    public async Task Megabyte_device_names_stay_distinct_but_short_and_the_real_vm_beside_them_stays_exact()
    {
        await using var qemu = await QemuVm.StartAsync();
        await using var hostile = new FakeVm("hostile");
        var good = RealQemuAssert.UniqueName("good");
        await using var exporter = await ExporterHost.StartAsync("--vm", $"{good}={qemu.ExporterSocket}", "--vm", hostile.Flag);
        var peer = await hostile.NextConnectionAsync();
        await exporter.WaitForAsync(s => s.IsSettled(hostile.Name) && s.Of(good, "qemu_vm_running") == 1, "both VMs up");

        // Twelve names of 1 MiB each that differ only in their last character.
        const int Names = 12;
        var head = new string('d', 1024 * 1024);
        for (var i = 0; i < Names; i++)
        {
            await peer.SendEventAsync("BLOCK_IO_ERROR", $$"""{"device": "{{head}}{{(char)('a' + i)}}", "operation": "write", "action": "report"}""");
        }

        await qemu.ExecuteAsync("stop");
        await qemu.ExecuteAsync("cont");
        await qemu.ControlEvents.WaitForAsync("RESUME");
        var scrape = await exporter.WaitForAsync(
            // The event count is taken before the mapping applies the event: wait for the errors themselves too.
            s => s.Of(hostile.Name, "qmp_events_total", ("event", "BLOCK_IO_ERROR")) == Names
                && s.SeriesOf(hostile.Name, "qemu_block_io_errors_total").Values.Sum() == Names && s.CaughtUp(good, qemu),
            "the hostile events applied and the good VM caught up", TimeSpan.FromSeconds(60));

        RealQemuAssert.EventsMatchControl(scrape, good, qemu);
        Assert.Equal(1, scrape.Of(good, "qemu_stops_total"));
        var errors = scrape.SeriesOf(hostile.Name, "qemu_block_io_errors_total");
        Assert.Equal(Names, errors.Count);
        Assert.All(errors.Values, v => Assert.Equal(1, v));
        var devices = errors.Keys.Select(k => Scrape.Labels("{" + k + "}")["device"]).ToList();
        Assert.All(devices, d => Assert.True(d.Length <= MaxLabelLength, $"a device label of {d.Length} characters"));
        Assert.All(devices, d => Assert.StartsWith("ddddd", d, StringComparison.Ordinal));
        Assert.Equal(Names, devices.Distinct(StringComparer.Ordinal).Count());
        Assert.True(HostileBytes(scrape, hostile.Name) < 64 * 1024, $"the hostile VM's lines take {HostileBytes(scrape, hostile.Name)} bytes");
    }

    [Fact]
    public async Task Series_past_the_scrape_budget_are_dropped_and_counted_and_the_body_stays_within_it()
    {
        const int Budget = 64 * 1024;
        const int Devices = 2000;
        await using var hostile = new FakeVm("budget");
        await using var calm = new FakeVm("calm");
        await using var exporter = await ExporterHost.StartAsync(
            "--vm", hostile.Flag, "--vm", calm.Flag, $"--QmpExporter:MaxScrapeBytes={Budget}", "--QmpExporter:MaxSeriesPerVm=100000");
        var peer = await hostile.NextConnectionAsync();
        await exporter.WaitForAsync(s => s.IsSettled(hostile.Name) && s.IsSettled(calm.Name), "both VMs settled");

        var lines = new StringBuilder();
        for (var i = 0; i < Devices; i++)
        {
            lines.Append(FakeQmpConnection.Event("BLOCK_IO_ERROR", $$"""{"device": "drive-{{i:D6}}-{{new string('x', 100)}}", "operation": "read", "action": "report"}""")).Append("\r\n");
        }

        await peer.SendRawAsync(Encoding.UTF8.GetBytes(lines.ToString()));
        var scrape = await exporter.WaitForAsync(
            s => s.Of(hostile.Name, "qmp_events_total", ("event", "BLOCK_IO_ERROR")) == Devices, "every event counted", TimeSpan.FromSeconds(60));

        var kept = scrape.SeriesOf(hostile.Name, "qemu_block_io_errors_total").Count;
        var dropped = scrape.Of(hostile.Name, "qmp_series_dropped_total", ("metric", "qemu_block_io_errors_total")) ?? 0;
        Assert.InRange(kept, 50, Devices - 1);
        Assert.Equal(Devices, kept + dropped);
        Assert.True(HostileBytes(scrape, hostile.Name) < Budget, $"the hostile VM's lines take {HostileBytes(scrape, hostile.Name)} bytes");
        Assert.Equal(1, scrape.Of(calm.Name, "qmp_up"));
        Assert.Equal(1, scrape.Of(calm.Name, "qemu_vm_running"));
    }

    private static long HostileBytes(Scrape scrape, string vm) =>
        scrape.Text.Split('\n').Where(l => l.Contains($"vm=\"{vm}\"", StringComparison.Ordinal)).Sum(l => (long)l.Length + 1);
}
