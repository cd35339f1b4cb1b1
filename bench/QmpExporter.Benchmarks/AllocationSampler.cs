using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace QmpExporter.Benchmarks;

/// <summary>
/// A sampling allocation profiler without external tools: the runtime's GCAllocationTick event fires about every
/// 100 KB allocated and names the type of the object that crossed the mark, so bytes per type are proportional to
/// what was allocated. Enabled with <c>--alloc-profile 1</c> for the measured window of scenario (a).
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> bytesByType = new(StringComparer.Ordinal);
    private volatile bool recording;

    public void Start() => recording = true;

    public void Stop() => recording = false;

    public IEnumerable<(string Type, long Bytes, double Share)> Top(int count)
    {
        var total = Math.Max(1, bytesByType.Values.Sum());
        return bytesByType.OrderByDescending(kv => kv.Value).Take(count).Select(kv => (kv.Key, kv.Value, (double)kv.Value / total));
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!recording || e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null || e.Payload is null)
        {
            return;
        }

        var typeIndex = e.PayloadNames.IndexOf("TypeName");
        var amountIndex = e.PayloadNames.IndexOf("AllocationAmount64");
        if (amountIndex < 0)
        {
            amountIndex = e.PayloadNames.IndexOf("AllocationAmount");
        }

        var type = typeIndex >= 0 ? e.Payload[typeIndex] as string ?? "?" : "?";
        var amount = amountIndex >= 0 ? Convert.ToInt64(e.Payload[amountIndex], System.Globalization.CultureInfo.InvariantCulture) : 0;
        bytesByType.AddOrUpdate(type, amount, (_, v) => v + amount);
    }
}
