using System.Collections;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OpenTelemetry.Trace;
using OpenTelemetry;
using QmpExporter.Spans;
using QmpExporter.Telemetry;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu.Spans;

/// <summary>
/// The in-memory exporter over the exporter's <see cref="ActivitySource"/> (as in SpanMappingTests), made safe for
/// the real sessions' read loops that end spans on their own threads, while other tests' sessions in the same process
/// end theirs too: spans are filtered by <c>qemu.vm.name</c>. Create it before the VM's exporter starts.
/// </summary>
internal sealed class SpanCollector : IDisposable
{
    private readonly LockedList exported = new();
    private readonly TracerProvider tracing;

    public SpanCollector()
    {
        tracing = Sdk.CreateTracerProviderBuilder().AddSource(QmpTracing.SourceName).SetSampler(new AlwaysOnSampler()).AddInMemoryExporter(exported).Build()!;
    }

    /// <summary>The ended spans called <paramref name="name"/> of VM <paramref name="vm"/>, in the order they ended.</summary>
    public IReadOnlyList<Activity> Spans(string name, string vm) =>
        [.. exported.Snapshot().Where(a => a.DisplayName == name && (string?)a.GetTagItem(QmpTracing.VmName) == vm)];

    /// <summary>Waits until a span <paramref name="name"/> of <paramref name="vm"/> that satisfies <paramref name="match"/> has ended.</summary>
    public async Task<Activity> WaitForSpanAsync(string name, string vm, Func<Activity, bool>? match = null, TimeSpan? timeout = null)
    {
        Activity? found = null;
        await Eventually.True(() => (found = Spans(name, vm).FirstOrDefault(a => match?.Invoke(a) ?? true)) is not null,
            $"an ended {name} span of vm {vm}", timeout ?? TimeSpan.FromSeconds(10));
        return found!;
    }

    public void Dispose() => tracing.Dispose();

    /// <summary>A span with its times, attributes and events, for failure messages.</summary>
    public static string Describe(Activity span) =>
        $"{span.DisplayName} {Micros(span.StartTimeUtc)}..{Micros(span.StartTimeUtc + span.Duration)} status {span.Status} " +
        $"[{string.Join(", ", span.TagObjects.Select(t => $"{t.Key}={Format(t.Value)}"))}] events: {string.Join(" ", span.Events.Select(Describe))}";

    /// <summary>A span event as <c>NAME@seconds.micros{attributes}</c>: QEMU's timestamp, exactly.</summary>
    public static string Describe(ActivityEvent e) =>
        $"{e.Name}@{Micros(e.Timestamp)}{{{string.Join(',', e.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={Format(t.Value)}"))}}}";

    /// <summary>A control-monitor event the way <see cref="Describe(ActivityEvent)"/> prints the span event it must become.</summary>
    public static string Describe(RecordedEvent e, params (string Key, object? Value)[] attributes) =>
        $"{e.Name}@{e.Seconds}.{e.Microseconds:D6}{{{string.Join(',', attributes.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={Format(t.Value)}"))}}}";

    /// <summary>A time as Unix <c>seconds.micros</c>; a time with a sub-microsecond part shows it, so it never matches.</summary>
    public static string Micros(DateTimeOffset at)
    {
        var ticks = at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var text = string.Create(CultureInfo.InvariantCulture, $"{ticks / TimeSpan.TicksPerSecond}.{ticks % TimeSpan.TicksPerSecond / 10:D6}");
        return ticks % 10 == 0 ? text : text + $"+{ticks % 10}ticks";
    }

    public static string Micros(DateTime utc) => Micros(new DateTimeOffset(utc, TimeSpan.Zero));

    public static string Micros(RecordedEvent e) => $"{e.Seconds}.{e.Microseconds:D6}";

    /// <summary>
    /// The attributes README "Traces" gives an incident's span event for this data: members in snake_case under
    /// <paramref name="prefix"/>, nested objects joined with dots; strings, integers and booleans as they are.
    /// </summary>
    public static (string Key, object? Value)[] DataAttributes(RecordedEvent e, string prefix)
    {
        var attributes = new List<(string, object?)>();
        void Walk(JsonElement element, string name)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var member in element.EnumerateObject())
                    {
                        Walk(member.Value, (name.EndsWith('.') ? name : name + ".") + member.Name.Replace('-', '_'));
                    }

                    break;
                case JsonValueKind.String:
                    attributes.Add((name, element.GetString()));
                    break;
                case JsonValueKind.Number:
                    attributes.Add((name, element.GetInt64()));
                    break;
                case JsonValueKind.True or JsonValueKind.False:
                    attributes.Add((name, element.GetBoolean()));
                    break;
            }
        }

        Walk(e.DataOf(), prefix);
        return [.. attributes];
    }

    private static string Format(object? value) => value switch
    {
        null => "null",
        string s => $"\"{s}\"",
        bool b => b ? "true" : "false",
        IFormattable f => $"{f.ToString(null, CultureInfo.InvariantCulture)}:{value.GetType().Name}",
        _ => value.ToString() ?? "",
    };

    /// <summary>An <see cref="ICollection{T}"/> the in-memory exporter can add to from any thread.</summary>
    private sealed class LockedList : ICollection<Activity>
    {
        private readonly List<Activity> items = [];

        public int Count
        {
            get
            {
                lock (items)
                {
                    return items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public Activity[] Snapshot()
        {
            lock (items)
            {
                return [.. items];
            }
        }

        public void Add(Activity item)
        {
            lock (items)
            {
                items.Add(item);
            }
        }

        public void Clear()
        {
            lock (items)
            {
                items.Clear();
            }
        }

        public bool Contains(Activity item)
        {
            lock (items)
            {
                return items.Contains(item);
            }
        }

        public void CopyTo(Activity[] array, int arrayIndex)
        {
            lock (items)
            {
                items.CopyTo(array, arrayIndex);
            }
        }

        public bool Remove(Activity item)
        {
            lock (items)
            {
                return items.Remove(item);
            }
        }

        public IEnumerator<Activity> GetEnumerator() => ((IEnumerable<Activity>)Snapshot()).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

/// <summary>What a block job's span must hold, from the control monitor's events of the job.</summary>
internal static class JobSpanTruth
{
    /// <summary>
    /// The job's events up to and including the one that ends its span (BLOCK_JOB_COMPLETED/_CANCELLED, or
    /// JOB_STATUS_CHANGE concluded/null), each described as its span event must be (README "Traces").
    /// </summary>
    public static List<string> ExpectedEvents(QemuVm qemu, string job)
    {
        var expected = new List<string>();
        foreach (var e in qemu.JobEvents(job))
        {
            expected.Add(e.Name switch
            {
                "JOB_STATUS_CHANGE" => SpanCollector.Describe(e, (QmpTracing.JobStatus, e.Str("status"))),
                "BLOCK_JOB_ERROR" => SpanCollector.Describe(e, (QmpTracing.BlockOperation, e.Str("operation")), (QmpTracing.BlockAction, e.Str("action"))),
                _ => SpanCollector.Describe(e),
            });
            if (e.Name is "BLOCK_JOB_COMPLETED" or "BLOCK_JOB_CANCELLED" || (e.Name == "JOB_STATUS_CHANGE" && e.Str("status") is "concluded" or "null"))
            {
                break;
            }
        }

        return expected;
    }

    /// <summary>One span for the job, with the control's events in order and QEMU's timestamps, from created to its final event.</summary>
    public static Activity AssertJobSpan(SpanCollector spans, string vm, QemuVm qemu, string job, string type, string result)
    {
        var all = spans.Spans(QmpTracing.JobSpan, vm).Where(s => (string?)s.GetTagItem(QmpTracing.JobId) == job).ToList();
        Assert.True(all.Count == 1, $"expected one {QmpTracing.JobSpan} span for job {job}, got {all.Count}:\n{string.Join("\n", all.Select(SpanCollector.Describe))}" +
            $"\ncontrol events:\n{string.Join("\n", qemu.ControlEvents.Events.Select(e => $"{SpanCollector.Micros(e)} {e.Name} {e.Data}"))}");
        var span = all[0];
        var events = qemu.JobEvents(job);
        var final = qemu.FinalJobEvent(job);
        Assert.Equal(ExpectedEvents(qemu, job), span.Events.Select(SpanCollector.Describe));
        Assert.Equal(type, span.GetTagItem(QmpTracing.JobType));
        Assert.Equal(result, span.GetTagItem(QmpTracing.JobResult));
        Assert.Equal(final.Long("offset"), span.GetTagItem(QmpTracing.JobOffset));
        Assert.Equal(final.Long("len"), span.GetTagItem(QmpTracing.JobLen));
        Assert.Equal(SpanCollector.Micros(events[0]), SpanCollector.Micros(span.StartTimeUtc));
        Assert.Equal(SpanCollector.Micros(final), SpanCollector.Micros(span.StartTimeUtc + span.Duration));
        Assert.Equal(ActivityKind.Internal, span.Kind);
        Assert.Null(span.Parent);
        Assert.Equal(default, span.ParentSpanId);
        return span;
    }
}
