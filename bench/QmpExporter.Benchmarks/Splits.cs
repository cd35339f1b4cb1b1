using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using QmpExporter.Mappings;
using QmpExporter.Qmp;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Benchmarks;

/// <summary>
/// Stopwatch splits of the synchronous per-event work, on one thread, no socket: what the read loop does for each
/// line (QmpMessage.Parse, then EventMappings.Dispatch into a VmContext). Comparing them with the end-to-end figure
/// shows how much goes to parsing, to the mappings and to everything else (socket reads, the session loop, queries).
/// </summary>
internal static class Splits
{
    public readonly record struct Split(double NsPerEvent, double BytesPerEvent);

    /// <summary>Parse + Dispatch per event name (each name's lines from the block, repeated): where the per-event cost sits.</summary>
    public static List<(string Name, double Share, Split Cost)> ByEventName(long eventsPerName)
    {
        var mix = EventMix.Shared;
        var registry = new VmRegistry(EventMappings.Catalog);
        var vm = new VmContext("split-by-name", registry.GetOrAdd("split-by-name"), TimeProvider.System, NullLogger.Instance, new SpanSource());
        var result = new List<(string, double, Split)>();
        foreach (var group in Enumerable.Range(0, mix.Count).GroupBy(i => mix.Names[i]))
        {
            var lines = group.Select(i => mix.Line(i)[..^2]).ToArray();
            Split Run(long count)
            {
                var allocated = GC.GetAllocatedBytesForCurrentThread();
                var start = Stopwatch.GetTimestamp();
                for (long i = 0; i < count; i++)
                {
                    var line = lines[i % lines.Length].Span;
                    var message = QmpMessage.Parse(line);
                    EventMappings.Dispatch(new QmpEvent(message.EventName!, message.Seconds, message.Microseconds, message.Data(line)), vm);
                    vm.TakeRequests();
                }

                return new Split(Stopwatch.GetElapsedTime(start).TotalNanoseconds / count, (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / count);
            }

            Run(eventsPerName / 4);
            Thread.Sleep(50);
            result.Add((group.Key, (double)lines.Length / mix.Count, Run(eventsPerName)));
        }

        return result;
    }

    public static (Split Parse, Split ParseAndDispatch) Measure(long events)
    {
        var mix = EventMix.Shared;
        var lines = Enumerable.Range(0, mix.Count).Select(i => mix.Line(i)[..^2]).ToArray(); // without CRLF, as the framer hands them over
        var registry = new VmRegistry(EventMappings.Catalog);
        var vm = new VmContext("split", registry.GetOrAdd("split"), TimeProvider.System, NullLogger.Instance, new SpanSource());

        long sink = 0;
        Split Run(long count, bool dispatch)
        {
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var start = Stopwatch.GetTimestamp();
            for (long i = 0; i < count; i++)
            {
                var line = lines[i % lines.Length].Span;
                var message = QmpMessage.Parse(line);
                sink += message.Microseconds;
                if (dispatch)
                {
                    EventMappings.Dispatch(new QmpEvent(message.EventName!, message.Seconds, message.Microseconds, message.Data(line)), vm);
                    vm.TakeRequests();
                }
            }

            var elapsed = Stopwatch.GetElapsedTime(start);
            return new Split(elapsed.TotalNanoseconds / count, (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / count);
        }

        // Warm both paths up to tier 1 first (tiered compilation installs tier-1 code in the background after a delay).
        for (var round = 0; round < 3; round++)
        {
            Run(100_000, false);
            Run(100_000, true);
            Thread.Sleep(200);
        }

        var parse = Run(events, false);
        var both = Run(events, true);
        GC.KeepAlive(sink);
        return (parse, both);
    }
}
