using System.Diagnostics;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Trace;
using QmpExporter.Spans;
using QmpExporter.Tests.Mappings;

namespace QmpExporter.Tests.Hardening;

/// <summary>A running span cannot be grown without bound by the peer: events per span, attributes per event and their length are capped.</summary>
public sealed class SpanLimitTests : IDisposable
{
    private readonly MappingHarness vm = new();
    private readonly List<Activity> exported = [];
    private readonly TracerProvider tracing;

    public SpanLimitTests()
    {
        tracing = Sdk.CreateTracerProviderBuilder().AddSource(QmpTracing.SourceName).SetSampler(new AlwaysOnSampler()).AddInMemoryExporter(exported).Build()!;
    }

    public void Dispose() => tracing.Dispose();

    [Fact]
    public void A_job_with_thousands_of_errors_keeps_a_bounded_number_of_events_and_counts_the_rest()
    {
        const int Errors = 2000;
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "JOB_STATUS_CHANGE", "data": {"status": "created", "id": "job-err"}}""");
        for (var i = 0; i < Errors; i++)
        {
            vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 10}, "event": "BLOCK_JOB_ERROR", "data": {"device": "job-err", "operation": "write", "action": "ignore"}}""");
        }

        vm.Event("""{"timestamp": {"seconds": 2, "microseconds": 0}, "event": "BLOCK_JOB_COMPLETED", "data": {"device": "job-err", "len": 10, "offset": 10, "speed": 0, "type": "mirror"}}""");

        var span = Assert.Single(Spans(QmpTracing.JobSpan));
        var kept = span.Events.Count();
        Assert.Equal(QmpTracing.MaxEventsPerSpan, kept);
        Assert.Equal(Errors + 2L - kept, span.GetTagItem(QmpTracing.DroppedEvents));
    }

    [Fact]
    public void Event_data_becomes_a_bounded_number_of_short_attributes()
    {
        var members = new StringBuilder();
        for (var i = 0; i < 100; i++)
        {
            members.Append($$""", "extra-{{i}}": "{{new string('x', 1024 * 1024 / 100)}}" """);
        }

        var device = new string('d', 1024 * 1024);
        vm.Event("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 0}, \"event\": \"BLOCK_IO_ERROR\", \"data\": {\"device\": \"" + device + "\", \"operation\": \"read\", \"action\": \"report\", \"reason\": \"Input/output error\"" + members + "}}");
        tracing.ForceFlush();
        vm.Time.Advance(TimeSpan.FromMinutes(10));
        vm.Event("""{"timestamp": {"seconds": 700, "microseconds": 0}, "event": "STOP"}""");

        var incident = Spans(QmpTracing.IncidentSpan).First(s => (string?)s.GetTagItem(QmpTracing.IncidentFirstEvent) == "BLOCK_IO_ERROR");
        var evt = Assert.Single(incident.Events);
        Assert.InRange(evt.Tags.Count(), 4, 32);
        Assert.All(evt.Tags, t => Assert.True(t.Value is not string s || s.Length <= 256, $"{t.Key} has {(t.Value as string)?.Length} characters"));
        Assert.StartsWith("ddd", (string?)evt.Tags.Single(t => t.Key == "qemu.block.device").Value, StringComparison.Ordinal);
    }

    private List<Activity> Spans(string name)
    {
        tracing.ForceFlush();
        lock (exported)
        {
            return [.. exported.Where(a => a.DisplayName == name && (string?)a.GetTagItem(QmpTracing.VmName) == vm.Vm.Name)];
        }
    }
}
