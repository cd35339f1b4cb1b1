using QmpExporter.Qmp;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu;

/// <summary>Losing and regaining a real QEMU's monitor: SIGKILL and restart, and a monitor held by another client.</summary>
public sealed class ReconnectTests
{
    [Fact]
    public async Task Sigkill_and_restart_on_the_same_socket_reconnects_and_keeps_the_counters()
    {
        await using var rig = await QemuRig.StartAsync("a", status: "running");
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);
        var greeting = qemu.Control.Greeting;

        await qemu.ExecuteAsync("stop");
        await exporter.WaitForAsync(s => s.CaughtUp(a, qemu) && s.Of(a, "qemu_stops_total") == 1, "the first stop counted");

        qemu.Kill();
        Assert.True(File.Exists(qemu.ExporterSocket), "SIGKILL leaves the socket file behind");
        var down = await exporter.WaitForAsync(s => s.Of(a, "qmp_up") == 0, "qmp_up 0 after SIGKILL");
        Assert.Equal(1, down.Of(a, "qmp_disconnects_total"));
        Assert.Equal(1, down.Of(a, "qemu_stops_total"));

        await qemu.RestartAsync();
        await exporter.WaitForAsync(s => s.Of(a, "qmp_up") == 1 && s.Of(a, "qmp_connects_total") == 2, "qmp_up 1 after the restart");
        await qemu.ExecuteAsync("stop");
        await qemu.ControlEvents.WaitForAsync("STOP", 2);

        var scrape = await exporter.WaitForAsync(s => s.CaughtUp(a, qemu) && s.Of(a, "qemu_vm_status", ("status", "paused")) == 1, "the second stop counted");
        RealQemuAssert.EventsMatchControl(scrape, a, qemu);
        Assert.Equal(2, scrape.Of(a, "qemu_stops_total"));
        Assert.Equal(1, scrape.Of(a, "qmp_up"));
        Assert.Equal(2, scrape.Of(a, "qmp_connects_total"));
        Assert.Equal(1, scrape.Of(a, "qmp_disconnects_total"));
        Assert.Equal(0, scrape.Of(a, "qemu_vm_running"));
        Assert.Equal("7.2.22", greeting.Version);
        Assert.Equal(1, scrape.Of(a, "qemu_info", ("version", greeting.Version), ("package", greeting.Package), ("uuid", ""), ("pid", qemu.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        Assert.Equal(0, scrape.Of(a, "qmp_protocol_errors_total", ("reason", "greeting_timeout")));
    }

    [Fact]
    public async Task A_monitor_held_by_another_client_times_out_the_greeting_until_that_client_leaves()
    {
        await using var qemu = await QemuVm.StartAsync();
        var a = RealQemuAssert.UniqueName("a");
        var holder = await QmpClient.ConnectAsync(new QmpEndpoint(qemu.ExporterSocket, null, 0), new RecordingHandler(), new QmpClientOptions(), CancellationToken.None);
        try
        {
            await using var exporter = await ExporterHost.StartAsync("--vm", $"{a}={qemu.ExporterSocket}");
            var held = await exporter.WaitForAsync(s => s.Of(a, "qmp_protocol_errors_total", ("reason", "greeting_timeout")) >= 1, "a greeting timeout");
            Assert.Equal(0, held.Of(a, "qmp_up"));
            Assert.Equal(0, held.Of(a, "qmp_connects_total"));

            await holder.DisposeAsync();
            var scrape = await exporter.WaitForAsync(s => s.Of(a, "qmp_up") == 1 && s.Of(a, "qemu_vm_running") == 1, "qmp_up 1 once the holder left");
            Assert.Equal(1, scrape.Of(a, "qmp_connects_total"));
            Assert.Equal(0, scrape.Of(a, "qmp_disconnects_total"));

            await qemu.ExecuteAsync("stop");
            scrape = await exporter.WaitForAsync(s => s.CaughtUp(a, qemu) && s.Of(a, "qemu_vm_status", ("status", "paused")) == 1, "the stop counted");
            RealQemuAssert.EventsMatchControl(scrape, a, qemu);
            Assert.Equal(1, scrape.Of(a, "qemu_stops_total"));
        }
        finally
        {
            await holder.DisposeAsync();
        }
    }
}
