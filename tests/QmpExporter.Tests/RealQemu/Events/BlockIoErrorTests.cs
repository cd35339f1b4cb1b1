using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu.Events;

/// <summary>
/// BLOCK_IO_ERROR from a boot sector's int13 read and write of LBA 1 on a blkdebug disk (README section 4 of
/// /work/shared/qemu): qemu_block_io_errors_total per (device, node_name, operation, action, nospace) must equal the
/// control monitor's events, and qemu_block_failed_operations_total QEMU's own query-blockstats.
/// </summary>
public sealed class BlockIoErrorTests
{
    private const string FastStats = "--QmpExporter:BlockStatsInterval=00:00:00.200";

    [Fact]
    public async Task Read_and_write_errors_with_action_stop_show_io_error_while_paused_and_count_per_tuple()
    {
        BlkdebugRule[] rules = [new("read_aio", BlkdebugRule.Eio, "read", 1, Once: true), new("write_aio", BlkdebugRule.Eio, "write", 1, Once: true)];
        await using var rig = await QemuRig.StartAsync("iostop", new QemuVmOptions
        {
            BootSector = BootSector.Create(flags: BootSector.Read | BootSector.Write),
            AttachBootImage = false,
            Args = ["-S", "-blockdev", QemuRecipes.BlkdebugJson("disk0", "{dir}/boot.img", rules), "-device", "ide-hd,drive=disk0,id=ide0,rerror=stop,werror=stop"],
        }, status: "prelaunch", exporterArgs: [FastStats]);
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);

        await qemu.ExecuteAsync("cont");
        foreach (var (stop, operation) in new[] { (1, "read"), (2, "write") })
        {
            await qemu.ControlEvents.WaitForAsync("STOP", stop);
            Assert.Equal(operation, qemu.ControlEvents.Events.Last(e => e.Name == "BLOCK_IO_ERROR").Str("operation"));
            Assert.Equal("io-error", (await qemu.ExecuteAsync("query-status")).GetProperty("status").GetString());

            var paused = await exporter.SettleAsync($"the {operation} error's pause as io-error",
                s => ControlTruth.FirstOf(s.EventsDiff(a, qemu), s.Of(a, "qemu_vm_status", ("status", "io-error")) == 1 ? null : "qemu_vm_status{status=\"io-error\"} is not 1"));
            Assert.Equal(0, paused.Of(a, "qemu_vm_running"));
            Assert.Equal(0, paused.Of(a, "qemu_vm_status", ("status", "running")));

            // Still paused on the error after that scrape: the gauge said io-error while QEMU was in io-error.
            Assert.Equal("io-error", (await qemu.ExecuteAsync("query-status")).GetProperty("status").GetString());
            await qemu.ExecuteAsync("cont");
        }

        await qemu.WaitForSerialAsync('H');
        var scrape = await SettleAsync(exporter, a, qemu, "running");
        Assert.Equal(2, qemu.ControlCounts()["BLOCK_IO_ERROR"]);
        Assert.Equal(2, scrape.Of(a, "qemu_stops_total"));
        Assert.Equal(1, scrape.Of(a, "qemu_vm_running"));
    }

    [Fact]
    public async Task Report_and_ignore_on_reads_and_writes_count_per_tuple_without_nospace()
    {
        BlkdebugRule[] rules = [new("read_aio", BlkdebugRule.Eio, "read", 1), new("write_aio", BlkdebugRule.Eio, "write", 1)];
        QemuVmOptions Options(string rerror, string werror) => new()
        {
            BootSector = BootSector.Create(flags: BootSector.Read | BootSector.Write),
            AttachBootImage = false,
            Args = ["-S", "-blockdev", QemuRecipes.BlkdebugJson("disk0", "{dir}/boot.img", rules), "-device", $"ide-hd,drive=disk0,id=ide0,rerror={rerror},werror={werror}"],
        };
        await using var ignoreReport = await QemuVm.StartAsync(Options("ignore", "report"));
        await using var reportIgnore = await QemuVm.StartAsync(Options("report", "ignore"));
        var a = RealQemuAssert.UniqueName("ioir");
        var b = RealQemuAssert.UniqueName("iori");
        await using var exporter = await ExporterHost.StartAsync("--vm", $"{a}={ignoreReport.ExporterSocket}", "--vm", $"{b}={reportIgnore.ExporterSocket}", FastStats);
        await exporter.WaitForAsync(s => s.Of(a, "qmp_up") == 1 && s.Of(b, "qmp_up") == 1, "both vms up");

        await ignoreReport.ExecuteAsync("cont");
        await reportIgnore.ExecuteAsync("cont");
        await ignoreReport.WaitForSerialAsync('H');
        await reportIgnore.WaitForSerialAsync('H');

        var scrapeA = await SettleAsync(exporter, a, ignoreReport, "running");
        var scrapeB = await SettleAsync(exporter, b, reportIgnore, "running");
        static string[] Tuples(params (string Operation, string Action)[] tuples) =>
            [.. tuples.Select(t => Scrape.Key(("device", ""), ("node_name", "disk0"), ("operation", t.Operation), ("action", t.Action), ("nospace", ""))).Order(StringComparer.Ordinal)];
        Assert.Equal(Tuples(("read", "ignore"), ("write", "report")), scrapeA.SeriesOf(a, "qemu_block_io_errors_total").Keys.Order(StringComparer.Ordinal));
        Assert.Equal(Tuples(("read", "report"), ("write", "ignore")), scrapeB.SeriesOf(b, "qemu_block_io_errors_total").Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0, scrapeA.Of(a, "qemu_stops_total"));
        Assert.Equal(0, scrapeB.Of(b, "qemu_stops_total"));
    }

    [Fact]
    public async Task Enospc_on_a_drive_with_an_auto_named_node_counts_nospace_true_under_the_drive_id()
    {
        await using var rig = await QemuRig.StartAsync("nospc", new QemuVmOptions
        {
            BootSector = BootSector.Create(flags: BootSector.Write),
            AttachBootImage = false,
            Args =
            [
                "-S",
                "-drive", "if=none,id=drive0,format=raw,file.driver=blkdebug,file.image.filename={dir}/boot.img,file.inject-error.0.event=write_aio," +
                          "file.inject-error.0.errno=28,file.inject-error.0.sector=1,file.inject-error.0.once=on,werror=enospc",
                "-device", "ide-hd,drive=drive0",
            ],
        }, status: "prelaunch", exporterArgs: [FastStats]);
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);

        await qemu.ExecuteAsync("cont");
        await qemu.ControlEvents.WaitForAsync("STOP");
        var error = qemu.ControlEvents.Events.Single(e => e.Name == "BLOCK_IO_ERROR");
        Assert.StartsWith("#block", error.Str("node-name"), StringComparison.Ordinal);
        await exporter.SettleAsync("the enospc pause as io-error",
            s => ControlTruth.FirstOf(s.EventsDiff(a, qemu), s.Of(a, "qemu_vm_status", ("status", "io-error")) == 1 ? null : "not io-error"));
        Assert.Equal("io-error", (await qemu.ExecuteAsync("query-status")).GetProperty("status").GetString());

        await qemu.ExecuteAsync("cont");
        await qemu.WaitForSerialAsync('H');
        var scrape = await SettleAsync(exporter, a, qemu, "running");
        Assert.Equal(1, scrape.Of(a, "qemu_block_io_errors_total", ("device", "drive0"), ("node_name", "drive0"), ("operation", "write"), ("action", "stop"), ("nospace", "true")));
    }

    /// <summary>
    /// Waits until the exporter agrees with the control monitor on every event count, on qemu_block_io_errors_total
    /// per tuple, on qemu_block_failed_operations_total (query-blockstats, asked now) and on the run state.
    /// </summary>
    private static async Task<Scrape> SettleAsync(ExporterHost exporter, string vm, QemuVm qemu, string status)
    {
        Assert.Equal(status, (await qemu.ExecuteAsync("query-status")).GetProperty("status").GetString());
        var autoNames = await ControlTruth.AutoNodeNamesAsync(qemu);
        var ioErrors = ControlTruth.IoErrors(qemu, autoNames);
        var failed = await ControlTruth.FailedOperationsAsync(qemu, autoNames);
        Assert.NotEmpty(ioErrors);
        var scrape = await exporter.SettleAsync($"vm {vm} to agree with its control monitor", s => ControlTruth.FirstOf(
            s.EventsDiff(vm, qemu),
            ControlTruth.Diff("qemu_block_io_errors_total", ioErrors, s.SeriesOf(vm, "qemu_block_io_errors_total")),
            ControlTruth.Diff("qemu_block_failed_operations_total", failed, s.SeriesOf(vm, "qemu_block_failed_operations_total")),
            s.Of(vm, "qemu_vm_status", ("status", status)) == 1 ? null : $"qemu_vm_status{{status=\"{status}\"}} is not 1"));
        RealQemuAssert.EventsMatchControl(scrape, vm, qemu);
        return scrape;
    }
}
