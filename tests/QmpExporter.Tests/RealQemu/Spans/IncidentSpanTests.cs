using QmpExporter.Spans;
using QmpExporter.Telemetry;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu.Spans;

/// <summary>A real guest I/O error with action stop as a qemu.incident span.</summary>
public sealed class IncidentSpanTests : IDisposable
{
    private readonly SpanCollector spans = new();

    public void Dispose() => spans.Dispose();

    [Fact]
    public async Task An_io_error_that_stops_the_vm_is_an_incident_with_the_events_data_as_attributes()
    {
        BlkdebugRule[] rules = [new("read_aio", BlkdebugRule.Eio, "read", 1, Once: true)];
        await using var rig = await QemuRig.StartAsync("sincident", new QemuVmOptions
        {
            BootSector = BootSector.Create(flags: BootSector.Read),
            AttachBootImage = false,
            Args = ["-S", "-blockdev", QemuRecipes.BlkdebugJson("disk0", "{dir}/boot.img", rules), "-device", "ide-hd,drive=disk0,id=ide0,rerror=stop,werror=stop"],
        });
        var (qemu, a) = (rig.Qemu, rig.Vm);

        await qemu.ExecuteAsync("cont");
        await qemu.ControlEvents.WaitForAsync("STOP");
        var span = await spans.WaitForSpanAsync(QmpTracing.IncidentSpan, a, s => s.Events.Any(e => e.Name == "STOP"));

        // -S then cont: RESUME opens the incident and the guest's read fails ~0.1 s later, within the quiet period, so
        // one span holds all three; were the guest slow enough to split them, the spans together must still hold them.
        var control = qemu.ControlEvents.Events;
        Assert.Equal(["RESUME", "BLOCK_IO_ERROR", "STOP"], control.Select(e => e.Name));
        var incidents = spans.Spans(QmpTracing.IncidentSpan, a).OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Equal(
            control.Select(e => SpanCollector.Describe(e, SpanCollector.DataAttributes(e, e.Name.StartsWith("BLOCK_", StringComparison.Ordinal) ? "qemu.block." : "qemu.event."))),
            incidents.SelectMany(s => s.Events).Select(SpanCollector.Describe));
        Assert.All(incidents, s => Assert.Equal(s.Events.First().Name, s.GetTagItem(QmpTracing.IncidentFirstEvent)));
        Assert.Contains(span.Events, e => e.Name == "BLOCK_IO_ERROR");
        var ioError = span.Events.Single(e => e.Name == "BLOCK_IO_ERROR").Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal("disk0", ioError["qemu.block.node_name"]);
        Assert.Equal("read", ioError["qemu.block.operation"]);
        Assert.Equal("stop", ioError["qemu.block.action"]);
        Assert.Equal(false, ioError["qemu.block.nospace"]);
        Assert.Equal("", ioError["qemu.block.device"]);
        Assert.Equal(control[1].Str("reason"), ioError["qemu.block.reason"]);
        Assert.Equal("STOP", span.Events.SkipWhile(e => e.Name != "BLOCK_IO_ERROR").Skip(1).First().Name);
        Assert.Equal(SpanCollector.Micros(span.Events.First().Timestamp), SpanCollector.Micros(span.StartTimeUtc));
        Assert.Equal(SpanCollector.Micros(control[^1]), SpanCollector.Micros(span.StartTimeUtc + span.Duration));
        Assert.Equal("io-error", (await qemu.ExecuteAsync("query-status")).GetProperty("status").GetString());
    }
}
