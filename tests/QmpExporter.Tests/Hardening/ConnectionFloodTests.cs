using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using QmpExporter.Tests.Daemon;
using QmpExporter.Tests.Hosting;
using QmpExporter.Tests.RealQemu;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Hardening;

/// <summary>Whoever can reach the port cannot use up the exporter's file descriptors and take its QMP sessions down with it.</summary>
public sealed class ConnectionFloodTests
{
    private const int FileLimit = 256;
    private const int IdleConnections = 600;

    [Fact]
    public async Task Idle_connections_past_the_fd_limit_leave_the_process_and_its_QMP_sessions_working()
    {
        await using var qemu = await QemuVm.StartAsync();
        await using var dropping = new FakeVm("dropping");
        var good = RealQemuAssert.UniqueName("good");
        await using var exporter = ExporterProcess.Start(
            ["--urls", "http://127.0.0.1:0", "--vm", $"{good}={qemu.ExporterSocket}", "--vm", dropping.Flag,
             "--QmpExporter:ReconnectMinDelay=00:00:00.100", "--QmpExporter:ReconnectMaxDelay=00:00:00.500"],
            launcher: "prlimit", launcherArguments: [$"--nofile={FileLimit}:{FileLimit}"]);
        var address = await exporter.ListeningAsync();
        var first = await dropping.NextConnectionAsync();
        await exporter.WaitForAsync(s => s.Of(good, "qemu_vm_running") == 1 && s.IsSettled(dropping.Name), "both VMs up");

        var idle = new List<Socket>();
        try
        {
            var port = address.Port;
            for (var i = 0; i < IdleConnections; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                idle.Add(socket);
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), deadline.Token);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                    // The listen backlog is full too: the flood reached its aim.
                    break;
                }
            }

            // With every HTTP slot taken, a QMP session still gets a descriptor to reconnect, and the real VM's events still count.
            first.Dispose();
            try
            {
                await dropping.NextConnectionAsync();
            }
            catch (TimeoutException)
            {
                throw new Xunit.Sdk.XunitException("no reconnect during the flood:\n" + exporter.Output);
            }

            await qemu.ExecuteAsync("stop");
            await qemu.ExecuteAsync("cont");
            await qemu.ControlEvents.WaitForAsync("RESUME");
        }
        finally
        {
            idle.ForEach(s => s.Dispose());
        }

        var scrape = await exporter.WaitForAsync(
            s => s.CaughtUp(good, qemu) && s.Of(dropping.Name, "qmp_connects_total") == 2 && s.Of(dropping.Name, "qmp_up") == 1,
            "the good VM caught up and the dropped one reconnected", TimeSpan.FromSeconds(60));
        Assert.False(exporter.Process.HasExited, exporter.Output);
        RealQemuAssert.EventsMatchControl(scrape, good, qemu);
        Assert.Equal(1, scrape.Of(good, "qmp_connects_total"));
        Assert.True(scrape.Value("qmp_exporter_http_connection_limit_reached_total") > 0, scrape.Text);
        Assert.Single(Regex.Matches(exporter.Output, @"All \d+ HTTP connections are in use"));
    }
}
