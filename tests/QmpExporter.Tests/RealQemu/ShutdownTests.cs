using System.Diagnostics;
using QmpExporter.Qmp;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu;

/// <summary>Stopping the exporter while its session to a live QEMU is open.</summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task Stopping_the_exporter_with_a_live_session_is_prompt_and_leaves_qemu_running()
    {
        await using var qemu = await QemuVm.StartAsync();
        var (exporter, _) = await QemuRig.AttachExporterAsync(qemu, RealQemuAssert.UniqueName("a"), "running");
        var stopping = Stopwatch.StartNew();
        await exporter.DisposeAsync();
        stopping.Stop();

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(3), $"stopping the exporter took {stopping.Elapsed.TotalSeconds:0.0} s");
        var status = await qemu.ExecuteAsync("query-status");
        Assert.Equal("running", status.GetProperty("status").GetString());
        Assert.False(qemu.HasExited);

        // The exporter let go of the monitor: the next client is greeted at once.
        var next = await QmpClient.ConnectAsync(new QmpEndpoint(qemu.ExporterSocket, null, 0), new RecordingHandler(),
            new QmpClientOptions { GreetingTimeout = TimeSpan.FromSeconds(2) }, CancellationToken.None);
        await next.DisposeAsync();
    }
}
