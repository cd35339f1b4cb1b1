using QmpExporter.Tests.Hosting;
using QmpExporter.Tests.RealQemu;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Hardening;

/// <summary>Only a peer that greeted speaks QMP, and a number out of range is a malformed line, never a wrong count.</summary>
public sealed class ProtocolStrictnessTests
{
    [Fact]
    public async Task Events_before_the_greeting_are_a_protocol_error_and_never_counted()
    {
        await using var impostor = new FakeVm("impostor", async c =>
        {
            for (var i = 0; i < 25; i++)
            {
                await c.SendEventAsync("STOP");
            }

            await c.WaitForCloseAsync();
        });
        await using var exporter = await ExporterHost.StartAsync("--vm", impostor.Flag);

        var scrape = await exporter.WaitForAsync(s => s.Of(impostor.Name, "qmp_protocol_errors_total", ("reason", "bad_greeting")) >= 2, "two connections rejected");
        Assert.DoesNotContain(scrape.EventCounts(impostor.Name), kv => kv.Value != 0);
        Assert.Equal(0, scrape.Of(impostor.Name, "qmp_connects_total"));
    }

    [Fact]
    public async Task Numbers_out_of_range_are_malformed_lines_and_leave_every_count_as_it_was()
    {
        await using var vm = new FakeVm("numbers");
        await using var exporter = await ExporterHost.StartAsync("--vm", vm.Flag);
        var peer = await vm.NextConnectionAsync();
        await exporter.WaitForAsync(s => s.IsSettled(vm.Name), "the VM settled");

        await peer.SendEventAsync("QUORUM_REPORT_BAD", """{"node-name": "q0", "sectors-num": 0, "sectors-count": -5, "type": "read"}""");
        await peer.SendEventAsync("QUORUM_REPORT_BAD", """{"node-name": "q0", "sectors-num": 0, "sectors-count": 18446744073709551616, "type": "read"}""");
        await peer.SendLineAsync("""{"event": "RESUME", "timestamp": {"seconds": 1e400, "microseconds": 0}}""");
        await peer.SendLineAsync("""{"event": "RESUME", "timestamp": {"seconds": 300000000000, "microseconds": 0}}""");
        await peer.SendLineAsync("""{"event": "RESUME", "timestamp": {"seconds": 1795624766, "microseconds": -1}}""");
        await peer.SendEventAsync("STOP");

        var scrape = await exporter.WaitForAsync(s => s.Of(vm.Name, "qmp_events_total", ("event", "STOP")) == 1, "the valid STOP after them counted");
        Assert.Equal(5, scrape.Of(vm.Name, "qmp_protocol_errors_total", ("reason", "malformed_line")));
        Assert.Null(scrape.Of(vm.Name, "qmp_events_total", ("event", "RESUME")));
        Assert.Null(scrape.Of(vm.Name, "qemu_quorum_bad_reports_total", ("node_name", "q0"), ("type", "read")));
        Assert.Null(scrape.Of(vm.Name, "qemu_quorum_bad_sectors_total", ("node_name", "q0"), ("type", "read")));
        Assert.Equal(1, scrape.Of(vm.Name, "qmp_connects_total"));
    }
}
