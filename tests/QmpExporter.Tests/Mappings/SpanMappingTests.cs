using System.Diagnostics;
using OpenTelemetry.Trace;
using OpenTelemetry;
using QmpExporter.Mappings;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Tests.Mappings;

/// <summary>Spans built from documented event sequences, collected with the in-memory exporter.</summary>
public sealed class SpanMappingTests : IDisposable
{
    private readonly MappingHarness vm = new();
    private readonly List<Activity> exported = [];
    private readonly TracerProvider tracing;

    public SpanMappingTests()
    {
        tracing = Sdk.CreateTracerProviderBuilder().AddSource(QmpTracing.SourceName).SetSampler(new AlwaysOnSampler()).AddInMemoryExporter(exported).Build()!;
    }

    public void Dispose() => tracing.Dispose();

    private List<Activity> Spans(string name)
    {
        tracing.ForceFlush();
        lock (exported)
        {
            return [.. exported.Where(a => a.DisplayName == name && (string?)a.GetTagItem(QmpTracing.VmName) == vm.Vm.Name)];
        }
    }

    [Fact]
    public void A_stream_job_is_one_span_from_created_to_completed_with_qemu_timestamps()
    {
        vm.Event("""{"timestamp": {"seconds": 1795624768, "microseconds": 866336}, "event": "JOB_STATUS_CHANGE", "data": {"status": "created", "id": "job-stream"}}""");
        vm.Event("""{"timestamp": {"seconds": 1795624768, "microseconds": 866400}, "event": "JOB_STATUS_CHANGE", "data": {"status": "running", "id": "job-stream"}}""");
        vm.Reply<BlockJobMapping>("""[{"device": "job-stream", "type": "stream", "len": 33554432, "offset": 1048576, "speed": 4194304, "ready": false, "status": "running"}]""");
        vm.Event("""{"timestamp": {"seconds": 1795624769, "microseconds": 623500}, "event": "JOB_STATUS_CHANGE", "data": {"status": "waiting", "id": "job-stream"}}""");
        vm.Event("""{"timestamp": {"seconds": 1795624769, "microseconds": 623591}, "event": "BLOCK_JOB_COMPLETED", "data": {"device": "job-stream", "len": 33554432, "offset": 33554432, "speed": 4194304, "type": "stream"}}""");
        vm.Event("""{"timestamp": {"seconds": 1795624769, "microseconds": 623600}, "event": "JOB_STATUS_CHANGE", "data": {"status": "concluded", "id": "job-stream"}}""");

        var span = Assert.Single(Spans(QmpTracing.JobSpan));
        Assert.Equal("job-stream", span.GetTagItem(QmpTracing.JobId));
        Assert.Equal("stream", span.GetTagItem(QmpTracing.JobType));
        Assert.Equal(33554432L, span.GetTagItem(QmpTracing.JobOffset));
        Assert.Equal(33554432L, span.GetTagItem(QmpTracing.JobLen));
        Assert.Equal("completed", span.GetTagItem(QmpTracing.JobResult));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795624768).AddTicks(8663360).UtcDateTime, span.StartTimeUtc);
        Assert.Equal(TimeSpan.FromTicks(7572550), span.Duration);
        Assert.Equal(["JOB_STATUS_CHANGE", "JOB_STATUS_CHANGE", "JOB_STATUS_CHANGE", "BLOCK_JOB_COMPLETED"], span.Events.Select(e => e.Name));
        Assert.Equal(["created", "running", "waiting"], span.Events.Take(3).Select(e => (string?)e.Tags.Single(t => t.Key == QmpTracing.JobStatus).Value));
        Assert.Equal(ActivityStatusCode.Unset, span.Status);
    }

    [Fact]
    public void A_failed_job_has_error_status_and_its_errors_as_events()
    {
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "JOB_STATUS_CHANGE", "data": {"status": "created", "id": "job-report"}}""");
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 10}, "event": "BLOCK_JOB_ERROR", "data": {"device": "job-report", "operation": "write", "action": "report"}}""");
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 20}, "event": "BLOCK_JOB_COMPLETED", "data": {"device": "job-report", "len": 33554432, "offset": 12582912, "speed": 0, "type": "mirror", "error": "Input/output error"}}""");

        var span = Assert.Single(Spans(QmpTracing.JobSpan));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal("Input/output error", span.StatusDescription);
        var error = span.Events.Single(e => e.Name == "BLOCK_JOB_ERROR");
        Assert.Equal("write", error.Tags.Single(t => t.Key == QmpTracing.BlockOperation).Value);
        Assert.Equal("report", error.Tags.Single(t => t.Key == QmpTracing.BlockAction).Value);
    }

    [Fact]
    public void A_migration_span_has_its_passes_and_ends_with_query_migrate_figures()
    {
        vm.Event("""{"timestamp": {"seconds": 1795624783, "microseconds": 56980}, "event": "MIGRATION", "data": {"status": "setup"}}""");
        vm.Event("""{"timestamp": {"seconds": 1795624783, "microseconds": 61528}, "event": "MIGRATION_PASS", "data": {"pass": 1}}""");
        vm.Event("""{"timestamp": {"seconds": 1795624783, "microseconds": 61690}, "event": "MIGRATION", "data": {"status": "active"}}""");
        vm.Event("""{"timestamp": {"seconds": 1795624784, "microseconds": 160036}, "event": "MIGRATION_PASS", "data": {"pass": 2}}""");
        vm.Event("""{"timestamp": {"seconds": 1795624784, "microseconds": 560234}, "event": "MIGRATION_PASS", "data": {"pass": 3}}""");
        vm.Event("""{"timestamp": {"seconds": 1795624784, "microseconds": 562079}, "event": "MIGRATION", "data": {"status": "completed"}}""");
        Assert.Empty(Spans(QmpTracing.MigrationSpan));
        Assert.True(vm.Vm.TakeRequests().HasFlag(VmQuery.Migration));

        vm.Reply<MigrationMapping>("""{"status": "completed", "total-time": 1505, "downtime": 12, "ram": {"transferred": 813000, "total": 134217728, "remaining": 0, "dirty-sync-count": 3}}""");

        var span = Assert.Single(Spans(QmpTracing.MigrationSpan));
        Assert.Equal(["MIGRATION", "MIGRATION_PASS", "MIGRATION", "MIGRATION_PASS", "MIGRATION_PASS", "MIGRATION"], span.Events.Select(e => e.Name));
        Assert.Equal([1L, 2L, 3L], span.Events.Where(e => e.Name == "MIGRATION_PASS").Select(e => e.Tags.Single().Value));
        Assert.Equal("completed", span.GetTagItem(QmpTracing.MigrationResult));
        Assert.Equal(813000L, span.GetTagItem("qemu.migration.ram.transferred"));
        Assert.Equal(3L, span.GetTagItem("qemu.migration.ram.dirty_sync_count"));
        Assert.Equal(1505L, span.GetTagItem(QmpTracing.MigrationTotalTime));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795624784).AddTicks(5620790).UtcDateTime, span.StartTimeUtc + span.Duration);
    }

    [Fact]
    public void Other_events_go_on_an_incident_span_with_their_data_that_ends_when_quiet()
    {
        vm.Event("""{"timestamp": {"seconds": 1795624766, "microseconds": 978320}, "event": "BLOCK_IO_ERROR", "data": {"device": "", "nospace": false, "node-name": "disk0", "reason": "Input/output error", "operation": "read", "action": "stop"}}""");
        vm.Event("""{"timestamp": {"seconds": 1795624766, "microseconds": 978774}, "event": "STOP"}""");
        vm.Event("""{"timestamp": {"seconds": 1795624775, "microseconds": 436783}, "event": "RTC_CHANGE", "data": {"offset": 600, "qom-path": "/machine/unattached/device[9]"}}""");
        Assert.NotNull(vm.Vm.Traces.EndQuietIncident(vm.Time.GetUtcNow()));
        Assert.Empty(Spans(QmpTracing.IncidentSpan));

        vm.Time.Advance(VmTraces.IncidentQuietPeriod);
        Assert.Null(vm.Vm.Traces.EndQuietIncident(vm.Time.GetUtcNow()));

        var span = Assert.Single(Spans(QmpTracing.IncidentSpan));
        Assert.Equal("BLOCK_IO_ERROR", span.GetTagItem(QmpTracing.IncidentFirstEvent));
        Assert.Equal(["BLOCK_IO_ERROR", "STOP", "RTC_CHANGE"], span.Events.Select(e => e.Name));
        var ioError = span.Events.First().Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal("disk0", ioError["qemu.block.node_name"]);
        Assert.Equal("read", ioError["qemu.block.operation"]);
        Assert.Equal(false, ioError["qemu.block.nospace"]);
        Assert.Equal("Input/output error", ioError["qemu.block.reason"]);
        Assert.Equal(600L, span.Events.Last().Tags.Single(t => t.Key == "qemu.event.offset").Value);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795624766).AddTicks(9783200).UtcDateTime, span.Events.First().Timestamp.UtcDateTime);
    }
}
