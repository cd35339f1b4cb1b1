using System.Diagnostics;
using QmpExporter.Telemetry;

namespace QmpExporter.Spans;

/// <summary>
/// The exporter's <see cref="ActivitySource"/>, one per exporter instance as <see cref="ExporterMetrics"/> holds one
/// <c>Meter</c>: whether spans are recorded depends on a listener for this instance, never on another one in the process.
/// </summary>
internal sealed class SpanSource : IDisposable
{
    private readonly ActivitySource source = new(new ActivitySourceOptions(QmpTracing.SourceName) { Version = ExporterMetrics.Version });

    public ActivitySource Source => source;

    public bool Enabled => source.HasListeners();

    /// <summary>Starts a span with no parent, whatever is current on this thread, at QEMU's time <paramref name="start"/>.</summary>
    public Activity? StartRoot(string name, DateTimeOffset start, string vm)
    {
        if (!source.HasListeners())
        {
            return null;
        }

        var ambient = Activity.Current;
        Activity.Current = null;
        var activity = source.StartActivity(name, ActivityKind.Internal, default(ActivityContext), [new(QmpTracing.VmName, vm)], startTime: start);
        Activity.Current = ambient;
        return activity;
    }

    public void Dispose() => source.Dispose();
}
