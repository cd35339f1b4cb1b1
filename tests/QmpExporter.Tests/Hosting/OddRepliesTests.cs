using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Hosting;

/// <summary>Replies and events of the wrong shape are counted and skipped; they never end the session.</summary>
public sealed class OddRepliesTests
{
    [Fact]
    public async Task Wrongly_shaped_replies_and_events_leave_the_session_up()
    {
        await using var vm = new FakeVm("odd", async c =>
        {
            await c.GreetAsync();
            while (true)
            {
                QmpRequest request;
                try
                {
                    request = await c.ReadCommandAsync();
                }
                catch (IOException)
                {
                    return;
                }

                switch (request.Execute)
                {
                    case "query-block":
                        await c.ReplyAsync(request, """[1, "x", {"device": 5, "inserted": 3}]""");
                        break;
                    case "query-blockstats":
                        await c.ReplyAsync(request, """[{"device": "d", "node-name": "n", "stats": 7}, 4]""");
                        break;
                    case "query-block-jobs":
                        await c.ReplyAsync(request, "\"nonsense\"");
                        break;
                    case "query-migrate":
                        await c.ReplyAsync(request, "[]");
                        break;
                    case "query-status":
                        await c.ReplyAsync(request, """{"status": 17, "running": "yes"}""");
                        break;
                    case "query-version":
                        await c.SendLineAsync($$"""{"error": "just a string", "id": {{request.IdJson}}}""");
                        break;
                    default:
                        await c.ReplyAsync(request);
                        break;
                }
            }
        });
        await using var exporter = await ExporterHost.StartAsync("--vm", vm.Flag);
        var qemu = await vm.NextConnectionAsync();
        await exporter.WaitForAsync(s => s.Value("qmp_up", ("vm", vm.Name)) == 1, "the session up despite odd replies");

        await qemu.SendLineAsync("""{"timestamp": {"seconds": 1.5, "microseconds": "x"}, "event": "RESET", "data": {"guest": "maybe", "reason": 7}}""");
        await qemu.SendLineAsync("""{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "BLOCK_IO_ERROR", "data": [1, 2]}""");
        await qemu.SendLineAsync("""{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "DUMP_COMPLETED", "data": {"result": 5}}""");
        await qemu.SendLineAsync("""{"event": 5}""");
        await qemu.SendEventAsync("RTC_CHANGE", """{"offset": 600}""");

        var scrape = await exporter.WaitForAsync(s => s.Value("qmp_events_total", ("vm", vm.Name), ("event", "RTC_CHANGE")) == 1, "the event after the odd lines");
        Assert.Equal(1, scrape.Value("qmp_up", ("vm", vm.Name)));
        Assert.Equal(0, scrape.Value("qmp_disconnects_total", ("vm", vm.Name)));
        Assert.True(scrape.Value("qmp_protocol_errors_total", ("vm", vm.Name), ("reason", "malformed_line")) >= 1);
        // A timestamp that is not a whole number in range makes the whole event malformed: it is not counted.
        Assert.Null(scrape.Value("qmp_events_total", ("vm", vm.Name), ("event", "RESET")));
        Assert.Equal(1, scrape.Value("qmp_events_total", ("vm", vm.Name), ("event", "BLOCK_IO_ERROR")));
    }
}
