using System.Diagnostics;
using System.Text;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Hosting;

/// <summary>A VM flooding events that ask for state gets a bounded trickle of queries back, not one per event or per round trip.</summary>
public sealed class QueryFloodTests
{
    /// <summary>Long enough (about a second here) that a query per round trip would be hundreds.</summary>
    private const int FloodEvents = 200_000;

    /// <summary>A paced flood: bursts of events, 2 ms apart, for about a second or more.</summary>
    private const int PacedBursts = 400;

    private const int BurstEvents = 100;

    /// <summary>The session's spacing of requested queries (100 ms) with room for timer slack under load.</summary>
    private static readonly TimeSpan Spacing = TimeSpan.FromMilliseconds(90);

    private static readonly string[] StateQueries = ["query-status", "query-block-jobs", "query-migrate", "query-block"];

    [Fact]
    public async Task A_flood_of_events_that_ask_for_state_makes_at_most_one_query_per_kind_per_spacing()
    {
        await using var vm = new FakeVm("query-flood");
        await using var exporter = await ExporterHost.StartAsync("--vm", vm.Flag);
        var qemu = await vm.NextConnectionAsync();
        await FakeVm.WaitForInitialQueriesAsync(qemu);
        var before = qemu.Answered.Count;

        // Each of these asks for a query: STOP and RESET query-status, a new job query-block-jobs, a finished
        // migration query-migrate and query-status. Sent in small bursts, so that the exporter keeps up and a query
        // per round trip would be many queries close together.
        string[] askers =
        [
            FakeQmpConnection.Event("STOP"),
            FakeQmpConnection.Event("RESET", """{"guest": true, "reason": "guest-reset"}"""),
            FakeQmpConnection.Event("JOB_STATUS_CHANGE", """{"status": "created", "id": "job-loop"}"""),
            FakeQmpConnection.Event("MIGRATION", """{"status": "completed"}"""),
        ];
        var burst = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(string.Concat(askers.Select(a => a + "\r\n")), BurstEvents / askers.Length)));
        var clock = Stopwatch.StartNew();
        for (var sent = 0; sent < PacedBursts; sent++)
        {
            await qemu.SendRawAsync(burst);
            await Task.Delay(2);
        }

        await exporter.WaitForAsync(s => s.Of(vm.Name, "qmp_events_total", ("event", "STOP")) == PacedBursts * BurstEvents / askers.Length, "the whole flood counted", TimeSpan.FromSeconds(60));
        var elapsed = clock.Elapsed;

        // Per kind: consecutive queries at least the spacing apart (one at the start of the flood, then one per spacing).
        var during = qemu.AnsweredAt.Skip(before).Where(c => StateQueries.Contains(c.Command)).ToList();
        foreach (var kind in during.GroupBy(c => c.Command))
        {
            var times = kind.Select(c => c.At).ToList();
            var closest = times.Zip(times.Skip(1), (a, b) => Stopwatch.GetElapsedTime(a, b)).DefaultIfEmpty(TimeSpan.MaxValue).Min();
            Assert.True(closest >= Spacing, $"{kind.Key}: {times.Count} during {elapsed.TotalMilliseconds:0} ms, two only {closest.TotalMilliseconds:0.0} ms apart");
        }

        Assert.Contains(during, c => c.Command == "query-status");
        Assert.Contains(during, c => c.Command == "query-block-jobs");
    }

    [Fact]
    public async Task Events_that_carry_the_state_themselves_make_no_query()
    {
        await using var vm = new FakeVm("state-carrying-flood");
        await using var exporter = await ExporterHost.StartAsync("--vm", vm.Flag);
        var qemu = await vm.NextConnectionAsync();
        await FakeVm.WaitForInitialQueriesAsync(qemu);

        // A job the exporter learns about first: its own start asks for query-block-jobs once.
        await qemu.SendEventAsync("JOB_STATUS_CHANGE", """{"status": "created", "id": "job-loop"}""");
        await Eventually.True(() => qemu.Answered.Count(c => c == "query-block-jobs") == 2, "query-block-jobs for the new job");
        var before = qemu.Answered.Count;

        string[] carriers =
        [
            FakeQmpConnection.Event("RESUME"),
            FakeQmpConnection.Event("BLOCK_JOB_ERROR", """{"device": "job-loop", "operation": "write", "action": "ignore"}"""),
            FakeQmpConnection.Event("JOB_STATUS_CHANGE", """{"status": "paused", "id": "job-loop"}"""),
            FakeQmpConnection.Event("JOB_STATUS_CHANGE", """{"status": "running", "id": "job-loop"}"""),
        ];
        var clock = Stopwatch.StartNew();
        await SendInChunksAsync(qemu, carriers, FloodEvents / 4);
        await exporter.WaitForAsync(s => s.Of(vm.Name, "qmp_events_total", ("event", "RESUME")) == FloodEvents / 4 / carriers.Length, "the whole flood counted", TimeSpan.FromSeconds(60));
        var polls = qemu.Answered.Skip(before).Count(c => c == "query-block-jobs");
        var elapsed = clock.Elapsed;

        // A STOP afterwards asks for query-status: the one query-status since the flood started is its.
        await qemu.SendEventAsync("STOP");
        await Eventually.True(() => qemu.Answered.Skip(before).Contains("query-status"), "query-status after the STOP");
        var since = qemu.Answered.Skip(before).ToList();
        Assert.Equal(1, since.Count(c => c == "query-status"));
        Assert.DoesNotContain("query-migrate", since);

        // query-block-jobs only on its own timer while the job runs (every second by default), not per event.
        Assert.True(polls <= (int)(elapsed / TimeSpan.FromMilliseconds(900)) + 1, $"{polls} x query-block-jobs in {elapsed.TotalMilliseconds:0} ms");
        Assert.DoesNotContain("query-block", since);
    }

    /// <summary>
    /// Sends <paramref name="events"/> lines cycling through <paramref name="lines"/> in chunks of about 64 KB, as QEMU
    /// writes its output queue, so that replies to the exporter's commands go out between chunks as they would.
    /// </summary>
    private static async Task SendInChunksAsync(FakeQmpConnection qemu, string[] lines, int events)
    {
        var chunk = new StringBuilder();
        for (var i = 0; i < events; i++)
        {
            chunk.Append(lines[i % lines.Length]).Append("\r\n");
            if (chunk.Length >= 64 * 1024 || i == events - 1)
            {
                await qemu.SendRawAsync(Encoding.UTF8.GetBytes(chunk.ToString()));
                chunk.Clear();
            }
        }
    }
}
