using System.Net.Sockets;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu;

/// <summary>A broken VM next to a good one: the good one stays exact and up, the broken one only affects its own series.</summary>
public sealed class BrokenVmTests
{
    [Fact]
    public async Task A_missing_socket_leaves_the_good_vm_exact()
    {
        await using var qemu = await QemuVm.StartAsync();
        var missing = qemu.Path("missing.qmp");
        var good = RealQemuAssert.UniqueName("good");
        var bad = RealQemuAssert.UniqueName("bad");
        var (exporter, _) = await QemuRig.AttachExporterAsync(qemu, good, "running", ["--vm", $"{bad}={missing}"]);
        await using var __ = exporter;

        var scrape = await DriveGoodVmAsync(qemu, exporter, good);
        Assert.Equal(0, scrape.Of(bad, "qmp_up"));
        Assert.Equal(0, scrape.Of(bad, "qmp_connects_total"));
        Assert.DoesNotContain(scrape.EventCounts(bad), kv => kv.Value != 0);
    }

    [Fact]
    public async Task A_listener_that_never_greets_counts_greeting_timeouts_and_leaves_the_good_vm_exact()
    {
        await using var qemu = await QemuVm.StartAsync();
        var silentPath = qemu.Path("silent.qmp");
        var good = RealQemuAssert.UniqueName("good");
        var silentVm = RealQemuAssert.UniqueName("silent");
        using var silent = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        silent.Bind(new UnixDomainSocketEndPoint(silentPath));
        silent.Listen(16);
        var accepted = new List<Socket>();
        using var stop = new CancellationTokenSource();
        var acceptLoop = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var connection = await silent.AcceptAsync(stop.Token);
                    lock (accepted)
                    {
                        accepted.Add(connection);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Test over.
            }
        });

        try
        {
            var (exporter, _) = await QemuRig.AttachExporterAsync(qemu, good, "running", ["--vm", $"{silentVm}={silentPath}"]);
            await using var __ = exporter;
            var scrape = await DriveGoodVmAsync(qemu, exporter, good);
            scrape = await exporter.WaitForAsync(s => s.Of(silentVm, "qmp_protocol_errors_total", ("reason", "greeting_timeout")) >= 1, "a greeting timeout on the silent VM");
            Assert.Equal(0, scrape.Of(silentVm, "qmp_up"));
            Assert.Equal(0, scrape.Of(silentVm, "qmp_connects_total"));
            Assert.Equal(1, scrape.Of(good, "qmp_up"));
            RealQemuAssert.EventsMatchControl(scrape, good, qemu);
            lock (accepted)
            {
                Assert.NotEmpty(accepted);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await acceptLoop;
            lock (accepted)
            {
                accepted.ForEach(s => s.Dispose());
            }
        }
    }

    /// <summary>stop, cont, system_reset on the good VM, up and running; returns the scrape in which the exporter matches the control monitor.</summary>
    private static async Task<Scrape> DriveGoodVmAsync(QemuVm qemu, ExporterHost exporter, string good)
    {
        await qemu.ExecuteAsync("stop");
        await qemu.ExecuteAsync("cont");
        await qemu.ExecuteAsync("system_reset");
        await qemu.ControlEvents.WaitForAsync("RESET");
        Assert.Equal(["STOP", "RESUME", "RESET"], qemu.ControlEvents.Events.Select(e => e.Name));

        var scrape = await exporter.WaitForAsync(s => s.CaughtUp(good, qemu) && s.Of(good, "qemu_vm_status", ("status", "running")) == 1, "the good vm caught up");
        RealQemuAssert.EventsMatchControl(scrape, good, qemu);
        Assert.Equal(1, scrape.Of(good, "qmp_up"));
        Assert.Equal(1, scrape.Of(good, "qmp_connects_total"));
        Assert.Equal(1, scrape.Of(good, "qemu_stops_total"));
        Assert.Equal(1, scrape.Of(good, "qemu_resets_total", ("guest", "false"), ("reason", "host-qmp-system-reset")));
        Assert.Equal(1, scrape.Of(good, "qemu_vm_running"));
        return scrape;
    }
}
