using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Hosting;

/// <summary>What a misbehaving monitor does to /metrics: counted by reason, and confined to its own VM.</summary>
public sealed class ProtocolErrorMetricsTests
{
    [Fact]
    public async Task A_malformed_line_is_counted_and_the_session_stays_up_and_keeps_counting_events()
    {
        await using var vm = new FakeVm("web1");
        await using var exporter = await ExporterHost.StartAsync("--vm", vm.Flag);
        var qemu = await vm.NextConnectionAsync();
        await exporter.WaitForAsync(s => s.IsSettled(vm.Name), "web1 connected and queried");

        await qemu.SendLineAsync("garbage");
        await qemu.SendEventAsync("RTC_CHANGE", """{"offset": 0, "qom-path": "/machine/unattached/device[7]"}""");
        await qemu.SendEventAsync("RTC_CHANGE", """{"offset": 600, "qom-path": "/machine/unattached/device[7]"}""");

        var scrape = await exporter.WaitForAsync(
            s => s.Of(vm.Name, "qmp_events_total", ("event", "RTC_CHANGE")) == 2,
            "2 RTC_CHANGE events counted after the malformed line");
        Assert.Equal(1, scrape.Of(vm.Name, "qmp_protocol_errors_total", ("reason", "malformed_line")));
        Assert.Equal(1, scrape.Of(vm.Name, "qmp_up"));
        Assert.Equal(1, scrape.Of(vm.Name, "qmp_connects_total"));
        Assert.Equal(0, scrape.Of(vm.Name, "qmp_disconnects_total"));
    }

    [Fact]
    public async Task An_oversize_line_is_counted_and_the_session_reconnects()
    {
        await using var vm = new FakeVm("web1");
        await using var exporter = await ExporterHost.StartAsync("--vm", vm.Flag, "--QmpExporter:MaxLineBytes=4096");
        var first = await vm.NextConnectionAsync();
        await exporter.WaitForAsync(s => s.IsSettled(vm.Name), "web1 connected and queried");
        await FakeVm.WaitForInitialQueriesAsync(first); // so the line cannot land while a query waits (next test)

        await first.SendEventAsync("RTC_CHANGE", $$"""{"offset": 0, "qom-path": "{{new string('x', 5000)}}"}""");

        var scrape = await exporter.WaitForAsync(
            s => s.Of(vm.Name, "qmp_connects_total") == 2 && s.Of(vm.Name, "qmp_up") == 1,
            "web1 reconnected after the oversize line");
        Assert.Equal(1, scrape.Of(vm.Name, "qmp_protocol_errors_total", ("reason", "oversize_line")));
        Assert.Equal(1, scrape.Of(vm.Name, "qmp_disconnects_total"));
        Assert.Null(scrape.Of(vm.Name, "qmp_events_total", ("event", "RTC_CHANGE")));
        Assert.Equal(2, vm.Server.Accepted);
    }

    [Fact]
    public async Task An_oversize_reply_to_a_query_is_counted_as_an_oversize_line()
    {
        // The first connection answers the first state query with a line past the limit (replies can be large, e.g.
        // query-qmp-schema's): it must count like an oversize event, although a command was waiting for that line.
        var connections = 0;
        await using var vm = new FakeVm("web1", async c =>
        {
            if (Interlocked.Increment(ref connections) > 1)
            {
                await c.ActLikeQemuAsync();
                return;
            }

            await c.NegotiateAsync();
            var query = await c.ReadCommandAsync();
            await c.ReplyAsync(query, $$"""{"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "{{new string('x', 5000)}}"}""");
            await c.WaitForCloseAsync();
        });
        await using var exporter = await ExporterHost.StartAsync("--vm", vm.Flag, "--QmpExporter:MaxLineBytes=4096");

        var scrape = await exporter.WaitForAsync(s => s.Of(vm.Name, "qmp_connects_total") == 2 && s.IsSettled(vm.Name), "web1 reconnected after the oversize reply");

        Assert.Equal(1, scrape.Of(vm.Name, "qmp_protocol_errors_total", ("reason", "oversize_line")));
    }

    [Fact]
    public async Task A_monitor_that_never_greets_counts_greeting_timeouts_while_other_VMs_are_served()
    {
        await using var stuck = new FakeVm("stuck", c => c.WaitForCloseAsync());
        await using var good = new FakeVm("good");
        await using var exporter = await ExporterHost.StartAsync("--vm", stuck.Flag, "--vm", good.Flag);
        var qemu = await good.NextConnectionAsync();
        await exporter.WaitForAsync(s => s.IsSettled(good.Name), "good connected and queried");

        await qemu.SendEventAsync("DEVICE_TRAY_MOVED", """{"device": "", "tray-open": true, "id": "cd0"}""");
        await qemu.SendEventAsync("DEVICE_TRAY_MOVED", """{"device": "", "tray-open": false, "id": "cd0"}""");

        var scrape = await exporter.WaitForAsync(
            s => s.Of(stuck.Name, "qmp_protocol_errors_total", ("reason", "greeting_timeout")) >= 1
                 && s.Of(good.Name, "qmp_events_total", ("event", "DEVICE_TRAY_MOVED")) == 2,
            "a greeting timeout for stuck and good's events");
        Assert.Equal(0, scrape.Of(stuck.Name, "qmp_up"));
        Assert.Equal(0, scrape.Of(stuck.Name, "qmp_connects_total"));
        Assert.Equal(1, scrape.Of(good.Name, "qmp_up"));
        Assert.Equal(0, scrape.Of(good.Name, "qmp_protocol_errors_total", ("reason", "greeting_timeout")));
        Assert.Equal("ok: 1 of 2 VMs connected\n", await exporter.GetStringAsync("/healthz"));
    }
}
