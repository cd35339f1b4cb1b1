using System.Text;
using QmpExporter.Tests.Daemon;
using QmpExporter.Tests.Hosting;
using QmpExporter.Tests.RealQemu;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Hardening;

/// <summary>What a peer says reaches the log short, escaped and throttled; a peer that hangs up at once is backed off.</summary>
public sealed class PeerTextTests
{
    private const int FailedDumps = 200;

    [Fact]
    public async Task Huge_peer_strings_and_a_flood_of_failed_dumps_leave_a_few_short_log_lines()
    {
        var package = new string('p', 1024 * 1024);
        var greeting = FakeQmpServer.Greeting.Replace("Debian 1:7.2+dfsg-7+deb12u18+b3", package, StringComparison.Ordinal);
        await using var hostile = new FakeVm("dumps", async c =>
        {
            await c.SendLineAsync(greeting);
            await c.AnswerLikeQemuAsync();
        });
        await using var exporter = ExporterProcess.Start(["--urls", "http://127.0.0.1:0", "--vm", hostile.Flag, "--Logging:LogLevel:QmpExporter=Information"]);
        var peer = await hostile.NextConnectionAsync();
        await exporter.WaitForAsync(s => s.IsSettled(hostile.Name), "the VM settled");

        var error = "disk full\\nforged: VM web1 deleted " + new string('e', 64 * 1024);
        var lines = new StringBuilder();
        for (var i = 0; i < FailedDumps; i++)
        {
            lines.Append(FakeQmpConnection.Event("DUMP_COMPLETED", $$"""{"result": {"total": 100, "status": "failed", "completed": 0}, "error": "{{error}}"}""")).Append("\r\n");
        }

        await peer.SendRawAsync(Encoding.UTF8.GetBytes(lines.ToString()));
        await exporter.WaitForAsync(s => s.Of(hostile.Name, "qemu_dumps_total", ("result", "failed")) == FailedDumps, "every failed dump counted");

        var log = exporter.Output.Split('\n');
        Assert.InRange(log.Count(l => l.Contains("guest memory dump failed", StringComparison.Ordinal)), 1, 3);
        Assert.DoesNotContain(log, l => l.StartsWith("forged:", StringComparison.Ordinal));
        Assert.All(log, l => Assert.True(l.Length < 1024, $"a log line of {l.Length} characters"));
        Assert.Contains(log, l => l.Contains("connected to QEMU 7.2.22 (ppppp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_peer_that_closes_right_after_negotiating_is_backed_off()
    {
        await using var flapping = new FakeVm("flapping", c => c.NegotiateAsync());
        await using var exporter = await ExporterHost.StartAsync("--vm", flapping.Flag,
            "--QmpExporter:ReconnectMinDelay=00:00:00.050", "--QmpExporter:ReconnectMaxDelay=00:00:02");
        await exporter.WaitForAsync(s => s.Of(flapping.Name, "qmp_connects_total") >= 1, "the first session");

        // Measures a window of wall time: without backoff the exporter reconnects every ~40 ms, over a hundred times.
        await Task.Delay(TimeSpan.FromSeconds(5));

        Assert.InRange(flapping.Server.Accepted, 2, 15);
    }
}
