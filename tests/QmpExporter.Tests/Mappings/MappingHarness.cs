using System.Text.Json;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using QmpExporter.Mappings;
using QmpExporter.Qmp;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Tests.Mappings;

/// <summary>
/// One VM's mapping state, fed QMP lines and query replies exactly as a session feeds them. It has a span source of
/// its own; with <c>recordSpans</c> a listener of its own records them, whatever other tests listen to.
/// </summary>
internal sealed class MappingHarness : IDisposable
{
    private readonly ActivityListener? listener;

    public MappingHarness(int maxSeriesPerVm = VmRegistry.DefaultMaxSeriesPerVm, bool recordSpans = false)
    {
        Registry = new VmRegistry(EventMappings.Catalog, maxSeriesPerVm);
        var name = "vm-" + Guid.NewGuid().ToString("N")[..8];
        Vm = new VmContext(name, Registry.GetOrAdd(name), Time, NullLogger.Instance, Spans) { RequestPosted = () => Requests++ };
        if (recordSpans)
        {
            listener = new ActivityListener
            {
                ShouldListenTo = source => ReferenceEquals(source, Spans.Source),
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            };
            ActivitySource.AddActivityListener(listener);
        }
    }

    public SpanSource Spans { get; } = new();

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));

    public VmRegistry Registry { get; }

    public VmContext Vm { get; }

    public VmSeries Series => Vm.Series;

    public int Requests { get; private set; }

    /// <summary>Feeds one event line as QEMU writes it.</summary>
    public void Event(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        var message = QmpMessage.Parse(bytes);
        Assert.Equal(QmpMessageKind.Event, message.Kind);
        EventMappings.Dispatch(new QmpEvent(message.EventName!, message.Seconds, message.Microseconds, message.Data(bytes)), Vm);
    }

    /// <summary>
    /// Applies a query's <c>return</c> value, as sent when the VM had applied <paramref name="sentAt"/> events
    /// (by default: all so far, i.e. no event came between the query and its reply).
    /// </summary>
    public void Reply<TQuery>(string returnJson, long? sentAt = null)
        where TQuery : IStateQuery
    {
        using var document = JsonDocument.Parse(returnJson);
        EventMappings.Queries.OfType<TQuery>().Single().Apply(document.RootElement.Clone(), Vm, sentAt ?? Vm.EventSequence);
    }

    public double? Value(in QmpExporter.Telemetry.Series series) => Series.Get(series);

    public int Count(MetricFamily family)
    {
        var measurements = new List<System.Diagnostics.Metrics.Measurement<double>>();
        Series.Collect(family, measurements);
        return measurements.Count;
    }

    public void Dispose()
    {
        listener?.Dispose();
        Spans.Dispose();
    }

}
