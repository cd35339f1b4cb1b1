using System.Diagnostics;
using System.Text.Json;

using QmpExporter.Telemetry;

namespace QmpExporter.Spans;

/// <summary>
/// The names of the exporter's spans and their attributes (README "Traces"), and the helpers that start and end them.
/// Every span is a root: it tells what happened to one job, migration or incident of one VM, not to a request of ours.
/// </summary>
internal static class QmpTracing
{
    public const string SourceName = "QmpExporter";

    public const string VmName = "qemu.vm.name";
    public const string JobId = "qemu.job.id";
    public const string JobType = "qemu.job.type";
    public const string JobStatus = "qemu.job.status";
    public const string JobOffset = "qemu.job.offset";
    public const string JobLen = "qemu.job.len";
    public const string JobResult = "qemu.job.result";
    public const string BlockOperation = "qemu.block.operation";
    public const string BlockAction = "qemu.block.action";
    public const string MigrationStatus = "qemu.migration.status";
    public const string MigrationPass = "qemu.migration.pass";
    public const string MigrationResult = "qemu.migration.result";
    public const string MigrationRamPrefix = "qemu.migration.ram.";
    public const string MigrationTotalTime = "qemu.migration.total_time_ms";
    public const string MigrationDowntime = "qemu.migration.downtime_ms";
    public const string MigrationSetupTime = "qemu.migration.setup_time_ms";
    public const string IncidentFirstEvent = "qemu.incident.first_event";

    public const string JobSpan = "qemu.block_job";
    public const string MigrationSpan = "qemu.migration";
    public const string IncidentSpan = "qemu.incident";

    /// <summary>Characters of a string attribute taken from event data; the rest is cut, as the OTLP span limits would.</summary>
    public const int MaxAttributeLength = 256;

    /// <summary>Attributes one span event takes from event data.</summary>
    public const int MaxEventAttributes = 32;

    /// <summary>
    /// Events one span keeps while it runs: an <see cref="Activity"/> holds them in memory until it ends, and a job can
    /// see an error event per I/O request. The ones past it are counted in <see cref="DroppedEvents"/>.
    /// </summary>
    public const int MaxEventsPerSpan = 128;

    public const string DroppedEvents = "qmp.dropped_events";

    /// <summary>Ends a span at QEMU's time <paramref name="end"/> (or now), without touching what is current on this thread.</summary>
    public static void End(Activity? activity, DateTimeOffset? end = null)
    {
        if (activity is null || activity.IsStopped)
        {
            return;
        }

        if (end is { } at && at.UtcDateTime >= activity.StartTimeUtc)
        {
            activity.SetEndTime(at.UtcDateTime);
        }

        var ambient = Activity.Current;
        activity.Stop();
        Activity.Current = ambient;
    }

    /// <summary>Adds a span event unless the span has <see cref="MaxEventsPerSpan"/> already; then counts it in <see cref="DroppedEvents"/>.</summary>
    public static void AddEvent(Activity? activity, in ActivityEvent evt)
    {
        if (activity is null)
        {
            return;
        }

        if (activity.GetTagItem(DroppedEvents) is long dropped)
        {
            activity.SetTag(DroppedEvents, dropped + 1);
        }
        else if (activity.Events.Take(MaxEventsPerSpan).Count() == MaxEventsPerSpan)
        {
            activity.SetTag(DroppedEvents, 1L);
        }
        else
        {
            activity.AddEvent(evt);
        }
    }

    /// <summary>
    /// An event's <c>data</c> as span-event attributes, at most <see cref="MaxEventAttributes"/> of them, strings and
    /// arrays cut to <see cref="MaxAttributeLength"/>: members in snake_case under <paramref name="prefix"/>
    /// (<c>node-name</c> becomes <c>qemu.block.node_name</c>), nested objects joined with dots, arrays as JSON text.
    /// </summary>
    public static ActivityTagsCollection DataAttributes(ReadOnlySpan<byte> data, string prefix)
    {
        var tags = new ActivityTagsCollection();
        if (data.IsEmpty)
        {
            return tags;
        }

        try
        {
            var reader = new Utf8JsonReader(data);
            Flatten(JsonElement.ParseValue(ref reader), prefix, tags);
        }
        catch (JsonException)
        {
            // Already validated as part of a well-formed line: nothing to add if it cannot be walked.
        }

        return tags;
    }

    private static void Flatten(JsonElement element, string name, ActivityTagsCollection tags)
    {
        if (tags.Count >= MaxEventAttributes)
        {
            return;
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var member in element.EnumerateObject())
                {
                    Flatten(member.Value, (name.EndsWith('.') ? name : name + ".") + member.Name.Replace('-', '_'), tags);
                }

                break;
            case JsonValueKind.String:
                tags[name] = Cut(element.GetString());
                break;
            case JsonValueKind.Number:
                tags[name] = element.TryGetInt64(out var integer) ? integer : (object)element.GetDouble();
                break;
            case JsonValueKind.True or JsonValueKind.False:
                tags[name] = element.GetBoolean();
                break;
            case JsonValueKind.Array:
                tags[name] = Cut(element.GetRawText());
                break;
        }
    }

    /// <summary>A peer string cut to <see cref="MaxAttributeLength"/> for a span attribute.</summary>
    public static string? Cut(string? text) => text is { Length: > MaxAttributeLength } ? text[..MaxAttributeLength] : text;
}
