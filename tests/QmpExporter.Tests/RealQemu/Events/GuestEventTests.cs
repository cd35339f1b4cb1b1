using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu.Events;

/// <summary>DUMP_COMPLETED and GUEST_PANICKED from a real QEMU.</summary>
public sealed class GuestEventTests
{
    [Fact]
    public async Task A_completed_and_a_failed_dump_are_counted_by_result_with_the_last_size()
    {
        await using var rig = await QemuRig.StartAsync("dump", new QemuVmOptions { Args = ["-S"] });
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);

        await qemu.ExecuteAsync("dump-guest-memory", """{"paging": false, "protocol": "file:/dev/null", "detach": true}""");
        await qemu.ControlEvents.WaitForAsync("DUMP_COMPLETED");
        await qemu.ExecuteUntilAcceptedAsync("dump-guest-memory", new() { ["paging"] = false, ["protocol"] = "file:/dev/full", ["detach"] = true });
        await qemu.ControlEvents.WaitForAsync("DUMP_COMPLETED", 2);

        var dumps = qemu.ControlEvents.Events.Where(e => e.Name == "DUMP_COMPLETED").ToList();
        var results = dumps.Select(e => e.DataOf().GetProperty("result")).ToList();
        Assert.Equal(["completed", "failed"], results.Select(r => r.GetProperty("status").GetString()));
        var expected = results.GroupBy(r => Scrape.Key(("result", r.GetProperty("status").GetString()!)), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (double)g.Count(), StringComparer.Ordinal);
        var status = await qemu.StatusAsync();
        var scrape = await exporter.SettleAsync("both dumps counted", s => ControlTruth.FirstOf(
            s.EventsDiff(a, qemu),
            s.StatusDiff(a, status),
            ControlTruth.Diff("qemu_dumps_total", expected, s.SeriesOf(a, "qemu_dumps_total").Where(kv => kv.Value != 0).ToDictionary(StringComparer.Ordinal))));
        RealQemuAssert.EventsMatchControl(scrape, a, qemu);
        Assert.Equal(2, scrape.SeriesOf(a, "qemu_dumps_total").Count);
        Assert.Equal(results[^1].GetProperty("total").GetInt64(), scrape.Of(a, "qemu_dump_last_bytes"));
        Assert.Equal(1, scrape.Of(a, "qemu_dumps_total", ("result", "completed")));
        Assert.Equal(1, scrape.Of(a, "qemu_dumps_total", ("result", "failed")));
    }

    [Fact]
    public async Task A_pvpanic_with_action_pause_counts_the_panic_and_shows_guest_panicked()
    {
        await using var rig = await QemuRig.StartAsync("panic", new QemuVmOptions
        {
            BootSector = BootSector.Create(flags: BootSector.Panic),
            Args = ["-S", "-device", "pvpanic", "-action", "panic=pause"],
        }, status: "prelaunch");
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);

        await qemu.ExecuteAsync("cont");
        await qemu.ControlEvents.WaitForAsync("STOP");
        Assert.Equal("guest-panicked", (await qemu.ExecuteAsync("query-status")).GetProperty("status").GetString());
        var expected = qemu.ControlEvents.Events.Where(e => e.Name == "GUEST_PANICKED")
            .GroupBy(e => Scrape.Key(("action", e.Str("action")!)), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (double)g.Count(), StringComparer.Ordinal);
        var scrape = await exporter.SettleAsync("the panic counted", s => ControlTruth.FirstOf(
            s.EventsDiff(a, qemu),
            ControlTruth.Diff("qemu_guest_panics_total", expected, s.SeriesOf(a, "qemu_guest_panics_total")),
            s.Of(a, "qemu_vm_status", ("status", "guest-panicked")) == 1 ? null : "qemu_vm_status{status=\"guest-panicked\"} is not 1"));
        RealQemuAssert.EventsMatchControl(scrape, a, qemu);
        Assert.Equal(1, scrape.Of(a, "qemu_guest_panics_total", ("action", "pause")));
        Assert.Equal(0, scrape.Of(a, "qemu_vm_running"));
        Assert.Equal("guest-panicked", (await qemu.ExecuteAsync("query-status")).GetProperty("status").GetString());
    }
}
