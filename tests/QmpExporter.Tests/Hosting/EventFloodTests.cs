using System.Diagnostics;
using System.Text;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Hosting;

/// <summary>A VM that floods events costs only its own read loop: the exporter keeps answering and counts every event.</summary>
public sealed class EventFloodTests
{
    private const int FloodEvents = 200_000;
    private static readonly TimeSpan Responsive = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task A_flooding_VM_does_not_delay_healthz_or_the_other_VMs_and_every_event_is_counted()
    {
        await using var flood = new FakeVm("flood");
        await using var calm = new FakeVm("calm");
        await using var exporter = await ExporterHost.StartAsync("--vm", flood.Flag, "--vm", calm.Flag);
        var flooder = await flood.NextConnectionAsync();
        var quiet = await calm.NextConnectionAsync();
        await exporter.WaitForAsync(s => s.IsSettled(flood.Name) && s.IsSettled(calm.Name), "both VMs connected and queried");

        var lines = new StringBuilder();
        for (var i = 0; i < FloodEvents; i++)
        {
            lines.Append(FakeQmpConnection.Event("RTC_CHANGE", """{"offset": 600, "qom-path": "/machine/unattached/device[7]"}""", 1795624766, i)).Append("\r\n");
        }

        var sending = flooder.SendRawAsync(Encoding.UTF8.GetBytes(lines.ToString()));
        await quiet.SendEventAsync("STOP");

        // Probe /healthz and /metrics for as long as the flood is being read (~0.5 s here), and at least once.
        do
        {
            var clock = Stopwatch.StartNew();
            var health = await exporter.GetStringAsync("/healthz");
            var scrape = await exporter.ScrapeAsync();
            clock.Stop();
            Assert.True(clock.Elapsed < Responsive, $"/healthz and /metrics took {clock.Elapsed} during the flood");
            Assert.StartsWith("ok: 2 of 2", health, StringComparison.Ordinal);
            Assert.Equal(1, scrape.Of(calm.Name, "qmp_up"));
            Assert.True(scrape.Has("qmp_connects_total", calm.Name));
        }
        while (!sending.IsCompleted);

        await sending.WaitAsync(TimeSpan.FromSeconds(30));
        var final = await exporter.WaitForAsync(
            s => s.Of(flood.Name, "qmp_events_total", ("event", "RTC_CHANGE")) == FloodEvents && s.Of(calm.Name, "qmp_events_total", ("event", "STOP")) == 1,
            $"all {FloodEvents} flood events and calm's STOP counted",
            TimeSpan.FromSeconds(30));
        Assert.Equal(1, final.Of(flood.Name, "qmp_up"));
        Assert.Equal(1, final.Of(flood.Name, "qmp_connects_total"));
        Assert.Equal(0, final.Of(flood.Name, "qmp_protocol_errors_total", ("reason", "malformed_line")));
        Assert.Equal(1795624766 + ((FloodEvents - 1) / 1e6), final.Of(flood.Name, "qmp_last_event_timestamp_seconds")!.Value, 3);
    }
}
