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
    /// <summary>
    /// <c>split [--events N] [--warmup N] [--dispatch 0|1]</c>: one split in this process, for a profiler (e.g. the
    /// instruction count of <c>valgrind --tool=callgrind</c> at two values of N, divided by their difference).
    /// </summary>
    public static int Run(string[] args)
    {
        long events = 500_000, warmup = 100_000;
        var dispatch = true;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--events": events = long.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = long.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--dispatch": dispatch = args[i + 1] is "1" or "true"; break;
                default: throw new ArgumentException($"unknown split option {args[i]}");
            }
        }

        var split = Measure(events, warmup, dispatch);
        Console.WriteLine($"{(dispatch ? "Parse + Dispatch" : "Parse")}: {split.NsPerEvent:0} ns, {split.BytesPerEvent:0.0} B/event over {events:N0} events");
        return 0;
    }

    public readonly record struct Split(double NsPerEvent, double BytesPerEvent);

    /// <summary>Parse + Dispatch per event name (each name's lines from the block, repeated): where the per-event cost sits.</summary>
    public static List<(string Name, double Share, Split Cost)> ByEventName(long eventsPerName)
    {
        var mix = EventMix.Shared;
        var registry = new VmRegistry(EventMappings.Catalog);
        var vm = new VmContext("split-by-name", registry.GetOrAdd("split-by-name"), TimeProvider.System, NullLogger.Instance, new SpanSource());
        var result = new List<(string, double, Split)>();
        var members = new QmpDataMember[QmpEventData.MaxIndexedMembers];
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
                    var message = QmpMessage.Parse(line, members);
                    EventMappings.Dispatch(new QmpEvent(message.EventName!, message.Seconds, message.Microseconds, message.EventData(line, members)), vm);
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
        // Warm both paths up to tier 1 first (tiered compilation installs tier-1 code in the background after a delay).
        for (var round = 0; round < 3; round++)
        {
            Measure(100_000, 0, false);
            Measure(100_000, 0, true);
            Thread.Sleep(200);
        }

        return (Measure(events, 0, false), Measure(events, 0, true));
    }

    /// <summary>What the read loop does with each line (as QmpClient routes an event): parse, and optionally dispatch.</summary>
    private static Split Measure(long events, long warmup, bool dispatch)
    {
        var mix = EventMix.Shared;
        var lines = Enumerable.Range(0, mix.Count).Select(i => mix.Line(i)[..^2]).ToArray(); // without CRLF, as the framer hands them over
        var registry = new VmRegistry(EventMappings.Catalog);
        var vm = new VmContext("split", registry.GetOrAdd("split"), TimeProvider.System, NullLogger.Instance, new SpanSource());
        var members = new QmpDataMember[QmpEventData.MaxIndexedMembers];

        long sink = 0;
        Split Run(long count)
        {
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var start = Stopwatch.GetTimestamp();
            for (long i = 0; i < count; i++)
            {
                var line = lines[i % lines.Length].Span;
                var message = QmpMessage.Parse(line, members);
                sink += message.Microseconds;
                if (dispatch)
                {
                    EventMappings.Dispatch(new QmpEvent(message.EventName!, message.Seconds, message.Microseconds, message.EventData(line, members)), vm);
                    vm.TakeRequests();
                }
            }

            var elapsed = Stopwatch.GetElapsedTime(start);
            return new Split(count == 0 ? 0 : elapsed.TotalNanoseconds / count, count == 0 ? 0 : (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / count);
        }

        Run(warmup);
        var split = Run(events);
        GC.KeepAlive(sink);
        return split;
    }
}
