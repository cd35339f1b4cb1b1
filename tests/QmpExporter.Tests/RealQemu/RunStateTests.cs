using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu;

/// <summary>Run-state metrics against a real QEMU 7.2: every value must equal what QEMU's control monitor saw.</summary>
public sealed class RunStateTests
{
    [Fact]
    public async Task Stop_cont_reset_stop_counted_exactly_as_the_control_monitor_saw_them()
    {
        await using var rig = await QemuRig.StartAsync("a", status: "running");
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);

        await qemu.ExecuteAsync("stop");
        await qemu.ExecuteAsync("cont");
        await qemu.ExecuteAsync("system_reset");
        await qemu.ExecuteAsync("stop");
        await qemu.ControlEvents.WaitForAsync("STOP", 2);
        // SeaBIOS, rebooting after the reset, may add RESETs of its own (guest-reset): only the host's are fixed.
        Assert.Equal(["STOP", "RESUME", "RESET", "STOP"], qemu.ControlEvents.Events.Where(e => !e.Data.Contains("\"guest-reset\"", StringComparison.Ordinal)).Select(e => e.Name));

        var scrape = await exporter.WaitForAsync(s => s.CaughtUp(a, qemu) && s.Of(a, "qemu_vm_status", ("status", "paused")) == 1,
            "the exporter to catch up with the control monitor");
        RealQemuAssert.EventsMatchControl(scrape, a, qemu);
        Assert.Equal(2, scrape.Of(a, "qemu_stops_total"));
        Assert.Equal(1, scrape.Of(a, "qemu_resets_total", ("guest", "false"), ("reason", "host-qmp-system-reset")));
        var guestResets = qemu.ControlEvents.Events.Count(e => e.Name == "RESET" && e.Data.Contains("\"guest-reset\"", StringComparison.Ordinal));
        Assert.Equal(guestResets, scrape.Of(a, "qemu_resets_total", ("guest", "true"), ("reason", "guest-reset")) ?? 0);
        Assert.Equal(0, scrape.Of(a, "qemu_vm_running"));
        Assert.Equal(1, scrape.Of(a, "qemu_vm_status", ("status", "paused")));
        Assert.Equal(0, scrape.Of(a, "qemu_vm_status", ("status", "running")));
        Assert.Equal(1, scrape.Of(a, "qmp_up"));
        Assert.Equal(1, scrape.Of(a, "qmp_connects_total"));
        Assert.Equal(0, scrape.Of(a, "qmp_disconnects_total"));
    }

    [Fact]
    public async Task Stop_on_an_io_error_free_guest_is_paused_in_query_status_and_in_the_metrics()
    {
        await using var rig = await QemuRig.StartAsync("a", status: "running");
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);

        await qemu.ExecuteAsync("stop");
        var status = await qemu.ExecuteAsync("query-status");
        Assert.Equal("paused", status.GetProperty("status").GetString());
        Assert.False(status.GetProperty("running").GetBoolean());

        var scrape = await exporter.WaitForAsync(s => s.CaughtUp(a, qemu) && s.Of(a, "qemu_vm_status", ("status", "paused")) == 1, "status paused");
        RealQemuAssert.EventsMatchControl(scrape, a, qemu);
        Assert.Equal(0, scrape.Of(a, "qemu_vm_running"));
        Assert.Equal(1, scrape.Of(a, "qemu_stops_total"));
        var states = scrape.Samples.Where(kv => kv.Key.StartsWith("qemu_vm_status{", StringComparison.Ordinal) && kv.Key.Contains($"vm=\"{a}\"", StringComparison.Ordinal)).ToList();
        Assert.Equal(1, states.Sum(kv => kv.Value));
        Assert.DoesNotContain(states, kv => kv.Key.Contains("io-error", StringComparison.Ordinal) && kv.Value != 0);
    }

    [Fact]
    public async Task A_vm_started_with_S_is_prelaunch_from_the_first_scrape_that_shows_it_up()
    {
        await using var qemu = await QemuVm.StartAsync("-S");
        var status = await qemu.ExecuteAsync("query-status");
        Assert.Equal("prelaunch", status.GetProperty("status").GetString());

        // Each new exporter is a fresh session and a fresh chance to scrape between qmp_up and the first query-status.
        for (var round = 1; round <= 8; round++)
        {
            var a = RealQemuAssert.UniqueName("a");
            var (exporter, first) = await QemuRig.AttachExporterAsync(qemu, a);
            await using var _ = exporter;
            Assert.True(first.Of(a, "qemu_vm_status", ("status", "prelaunch")) == 1 && first.Of(a, "qemu_vm_running") == 0,
                $"round {round}: the first scrape with qmp_up 1 must already carry the run state, got qemu_vm_status{{status=\"prelaunch\"}} " +
                $"{first.Of(a, "qemu_vm_status", ("status", "prelaunch"))?.ToString() ?? "absent"}, qemu_vm_running {first.Of(a, "qemu_vm_running")?.ToString() ?? "absent"}");
        }

        Assert.Empty(qemu.ControlEvents.Events);
    }

    [Fact]
    public async Task Quit_counts_the_shutdown_and_drops_qmp_up()
    {
        await using var rig = await QemuRig.StartAsync("a", status: "running");
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);

        await qemu.ExecuteAsync("quit");
        Assert.Equal(0, await qemu.WaitForExitAsync());
        Assert.Equal(["SHUTDOWN"], qemu.ControlEvents.Events.Select(e => e.Name));
        Assert.Contains("\"host-qmp-quit\"", qemu.ControlEvents.Events[0].Data, StringComparison.Ordinal);

        var scrape = await exporter.WaitForAsync(s => s.CaughtUp(a, qemu) && s.Of(a, "qmp_up") == 0, "the shutdown counted and qmp_up 0");
        RealQemuAssert.EventsMatchControl(scrape, a, qemu);
        Assert.Equal(1, scrape.Of(a, "qemu_shutdowns_total", ("guest", "false"), ("reason", "host-qmp-quit")));
        Assert.Equal(1, scrape.Of(a, "qmp_connects_total"));
        Assert.Equal(1, scrape.Of(a, "qmp_disconnects_total"));
        Assert.False(File.Exists(qemu.ExporterSocket), "a clean exit unlinks the monitor sockets");
    }
}
