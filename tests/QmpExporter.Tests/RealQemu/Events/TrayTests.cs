using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu.Events;

/// <summary>DEVICE_TRAY_MOVED and query-block's tray_open on two IDE CD-ROMs: an empty one (cd0) and one with a medium (cd1).</summary>
public sealed class TrayTests
{
    /// <summary>cd.iso in the scratch dir; the two drives' QEMU arguments.</summary>
    private static async Task<string[]> CdromsAsync(ScratchDir scratch)
    {
        var iso = scratch.Path("cd.iso");
        await QemuRecipes.CreateImageAsync(iso, "raw", "1M");
        return
        [
            "-device", "ide-cd,id=cd0,bus=ide.1,unit=0",
            "-drive", $"if=none,id=cdrom1,media=cdrom,readonly=on,format=raw,file={iso}",
            "-device", "ide-cd,id=cd1,drive=cdrom1,bus=ide.1,unit=1",
        ];
    }

    [Fact]
    public async Task Open_close_eject_and_change_medium_leave_each_tray_at_the_control_monitors_last_state()
    {
        await using var rig = await QemuRig.StartAsync("tray", new QemuVmOptions { Args = ["-S"] }, CdromsAsync);
        var (qemu, exporter, a, first) = (rig.Qemu, rig.Exporter, rig.Vm, rig.Up);
        Assert.Equal(0, first.Of(a, "qemu_device_tray_open", ("device", ""), ("id", "cd0")));
        Assert.Equal(0, first.Of(a, "qemu_device_tray_open", ("device", "cdrom1"), ("id", "cd1")));

        await qemu.ExecuteAsync("blockdev-open-tray", """{"id": "cd0"}""");
        await qemu.ExecuteAsync("blockdev-close-tray", """{"id": "cd0"}""");
        await qemu.ExecuteAsync("eject", """{"id": "cd1"}""");
        await qemu.ExecuteAsync("blockdev-change-medium", $$"""{"id": "cd1", "filename": "{{rig.Scratch.Path("cd.iso")}}", "format": "raw", "read-only-mode": "read-only"}""");
        await qemu.ExecuteAsync("blockdev-open-tray", """{"id": "cd0"}""");
        await qemu.ControlEvents.WaitForAsync("DEVICE_TRAY_MOVED", 5);

        // The last DEVICE_TRAY_MOVED per (device, id) is the state each tray is left in.
        var expected = qemu.ControlEvents.Events.Where(e => e.Name == "DEVICE_TRAY_MOVED")
            .GroupBy(e => Scrape.Key(("device", e.Str("device")!), ("id", e.Str("id")!)), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last().DataOf().GetProperty("tray-open").GetBoolean() ? 1.0 : 0.0, StringComparer.Ordinal);
        Assert.Equal(2, expected.Count);
        var scrape = await exporter.SettleAsync("the trays' last states", s => ControlTruth.FirstOf(
            s.EventsDiff(a, qemu),
            ControlTruth.Diff("qemu_device_tray_open", expected, s.SeriesOf(a, "qemu_device_tray_open"))));
        RealQemuAssert.EventsMatchControl(scrape, a, qemu);
        Assert.Equal(1, scrape.Of(a, "qemu_device_tray_open", ("device", ""), ("id", "cd0")));
        Assert.Equal(0, scrape.Of(a, "qemu_device_tray_open", ("device", "cdrom1"), ("id", "cd1")));
    }

    [Fact]
    public async Task A_tray_opened_before_the_exporter_connects_is_open_from_the_first_scrape()
    {
        using var scratch = new ScratchDir();
        await using var qemu = await QemuVm.StartAsync(["-S", .. await CdromsAsync(scratch)]);
        await qemu.ExecuteAsync("blockdev-open-tray", """{"id": "cd0"}""");
        await qemu.ExecuteAsync("eject", """{"id": "cd1"}""");
        await qemu.ControlEvents.WaitForAsync("DEVICE_TRAY_MOVED", 2);
        var trays = (await qemu.ExecuteAsync("query-block")).EnumerateArray().ToDictionary(d => d.GetProperty("qdev").GetString()!, d => d.GetProperty("tray_open").GetBoolean());
        Assert.True(trays["cd0"] && trays["cd1"], "query-block shows both trays open");

        // Each exporter is a fresh session and a fresh chance to scrape between qmp_up and the first query-block.
        for (var round = 1; round <= 3; round++)
        {
            var a = RealQemuAssert.UniqueName("trayopen");
            var (exporter, first) = await QemuRig.AttachExporterAsync(qemu, a);
            await using var _ = exporter;
            Assert.Equal(1, first.Of(a, "qemu_device_tray_open", ("device", ""), ("id", "cd0")));
            Assert.Equal(1, first.Of(a, "qemu_device_tray_open", ("device", "cdrom1"), ("id", "cd1")));
            Assert.DoesNotContain(first.EventCounts(a), kv => kv.Value != 0);
        }
    }
}
