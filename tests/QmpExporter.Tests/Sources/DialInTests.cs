using QmpExporter.Tests.RealQemu;
using QmpExporter.Tests.RealQemu.Events;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Sources;

/// <summary>
/// Real QEMUs dial in to the exporter's listening socket (QmpExporter:Listen:Path) with the documented chardev line;
/// each is a VM named from its own command line, counted exactly against the VM's own control monitor.
/// </summary>
public sealed class DialInTests : IDisposable
{
    private readonly string listen = DialIn.NewListenPath();

    public void Dispose() => DialIn.Remove(listen);

    [Fact]
    public async Task A_boot_time_read_error_of_a_QEMU_that_dials_in_at_start_is_counted_exactly()
    {
        await using var exporter = await ExporterHost.StartAsync("--listen", listen, "--QmpExporter:BlockStatsInterval=00:00:00.200");
        var name = RealQemuAssert.UniqueName("boot");

        // No -S: the guest runs at once; SeaBIOS reads the boot sector, then the sector's int13 read of LBA 1 fails
        // (rerror=report: the guest sees it, QEMU counts it in failed_rd_operations) and the sector goes on to print H.
        // The only monitor connected that early is the one that dials in.
        BlkdebugRule[] rules = [new("read_aio", BlkdebugRule.Eio, "read", 1, Once: true)];
        await using var qemu = await QemuVm.StartAsync(new QemuVmOptions
        {
            BootSector = BootSector.Create(flags: BootSector.Read),
            AttachBootImage = false,
            Args =
            [
                "-m", "32", "-name", name, .. DialIn.Args(listen),
                "-blockdev", QemuRecipes.BlkdebugJson("disk0", "{dir}/boot.img", rules), "-device", "ide-hd,drive=disk0,id=ide0,rerror=report,werror=report",
            ],
        });

        await qemu.WaitForSerialAsync('H');
        var truth = await ControlTruth.FailedOperationsAsync(qemu, new Dictionary<string, string>());
        var failedReads = truth[Scrape.Key(("device", ""), ("node_name", "disk0"), ("operation", "read"))];
        Assert.Equal(1, failedReads);

        var scrape = await exporter.SettleAsync("the boot-time error counted",
            s => ControlTruth.FirstOf(
                s.Of(name, "qemu_block_io_errors_total", ("device", ""), ("node_name", "disk0"), ("operation", "read"), ("action", "report"), ("nospace", "")) == failedReads
                    ? null : $"qemu_block_io_errors_total: [{ControlTruth.Describe(s.SeriesOf(name, "qemu_block_io_errors_total"))}], QEMU failed {failedReads} reads",
                s.StatusDiff(name, "running")));
        Assert.Equal(1, scrape.Of(name, "qmp_events_total", ("event", "BLOCK_IO_ERROR")));
        Assert.Equal(qemu.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), Label(scrape, name, "pid"));
        Assert.Equal("", Label(scrape, name, "uuid"));
    }

    [Fact]
    public async Task Two_live_QEMUs_with_one_name_stay_two_VMs_and_a_QEMU_that_dials_in_again_continues_its_counters()
    {
        await using var exporter = await ExporterHost.StartAsync("--listen", listen);
        var name = RealQemuAssert.UniqueName("twin");
        await using var first = await DialIn.StartAsync(name, listen, "-uuid", "5a2d0c1e-0000-4000-8000-000000000001");
        await exporter.WaitForAsync(s => s.Of(name, "qmp_up") == 1, $"{name} up");
        await using var second = await DialIn.StartAsync(name, listen);
        var twin = $"{name}@pid-{second.Pid}";
        await exporter.WaitForAsync(s => s.Of(twin, "qmp_up") == 1, $"{twin} up");

        var uuid = ("uuid", "5a2d0c1e-0000-4000-8000-000000000001");
        var scrape = await exporter.ScrapeAsync();
        Assert.Equal(first.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), Label(scrape, name, "pid"));
        Assert.Equal(uuid.Item2, Label(scrape, name, "uuid"));
        Assert.Equal(second.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), Label(scrape, twin, "pid"));

        // The first stops once, is killed and started again (same name, new pid) within the grace: one VM, counters go on.
        await first.ExecuteAsync("cont");
        await first.ExecuteAsync("stop");
        await exporter.WaitForAsync(s => s.Of(name, "qemu_stops_total") == 1, "the stop counted");
        first.Kill();
        await first.RestartAsync();
        await first.ExecuteAsync("cont");
        await first.ExecuteAsync("stop");
        scrape = await exporter.WaitForAsync(s => s.Of(name, "qemu_stops_total") == 2 && s.Of(name, "qmp_up") == 1, "the restarted QEMU's stop counted on the same VM");
        Assert.Equal(2, scrape.Of(name, "qmp_connects_total"));
        Assert.Equal(first.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), Label(scrape, name, "pid"));
        Assert.Equal(0, scrape.Of(twin, "qemu_stops_total"));
    }

    private static string Label(Scrape scrape, string vm, string label)
    {
        var key = Assert.Single(scrape.SeriesOf(vm, "qemu_info").Keys);
        return Scrape.Labels("{" + key + "}")[label];
    }
}
