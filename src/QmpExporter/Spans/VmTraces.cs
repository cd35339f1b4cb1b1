using System.Diagnostics;
using System.Text.Json;
using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Spans;

/// <summary>
/// The open spans of one VM besides its block jobs' (<see cref="BlockJobTracker"/>): the current migration, and the
/// current incident, a short span that gathers the VM's other events until it has been quiet for a moment. Lives as
/// long as the VM's session, so a span survives a reconnect.
/// </summary>
internal sealed class VmTraces(string vm, SpanSource spans)
{
    /// <summary>An incident ends once no event came for this long, or when it holds <see cref="MaxIncidentEvents"/>.</summary>
    public static readonly TimeSpan IncidentQuietPeriod = TimeSpan.FromSeconds(2);

    private const int MaxIncidentEvents = 128;

    private readonly Lock gate = new();
    private Activity? migration;
    private DateTimeOffset? migrationEnd;
    private Activity? incident;
    private int incidentEvents;
    private DateTimeOffset incidentLastSeen;
    private DateTimeOffset incidentLastEvent;

    /// <summary>True while a migration's span is open and its outcome not yet known.</summary>
    public bool MigrationOpen
    {
        get
        {
            lock (gate)
            {
                return migration is not null && migrationEnd is null;
            }
        }
    }

    /// <summary>True once a migration's outcome is known and its span waits for query-migrate's final figures.</summary>
    public bool AwaitingMigrationFigures
    {
        get
        {
            lock (gate)
            {
                return migration is not null && migrationEnd is not null;
            }
        }
    }

    /// <summary>Adds the event to the VM's current incident span, opening one if needed; true when it opened one.</summary>
    public bool Incident(in QmpEvent evt, DateTimeOffset now)
    {
        if (!spans.Enabled)
        {
            return false;
        }

        var opened = false;
        var attributes = QmpTracing.DataAttributes(evt.Data, evt.Name.StartsWith("BLOCK_", StringComparison.Ordinal) || evt.Name.StartsWith("QUORUM_", StringComparison.Ordinal) ? "qemu.block." : "qemu.event.");
        lock (gate)
        {
            if (incident is null || incidentEvents >= MaxIncidentEvents || now - incidentLastSeen >= IncidentQuietPeriod)
            {
                opened = true;
                QmpTracing.End(incident, incidentLastEvent);
                incident = spans.StartRoot(QmpTracing.IncidentSpan, evt.Timestamp, vm);
                incident?.SetTag(QmpTracing.IncidentFirstEvent, evt.Name);
                incidentEvents = 0;
            }

            QmpTracing.AddEvent(incident, new ActivityEvent(evt.Name, evt.Timestamp, attributes));
            incidentEvents++;
            incidentLastSeen = now;
            incidentLastEvent = evt.Timestamp;
        }

        return opened;
    }

    /// <summary>Ends the incident span once it went quiet; returns when to look again, null when none is open.</summary>
    public DateTimeOffset? EndQuietIncident(DateTimeOffset now)
    {
        lock (gate)
        {
            if (incident is null)
            {
                return null;
            }

            if (now - incidentLastSeen < IncidentQuietPeriod)
            {
                return incidentLastSeen + IncidentQuietPeriod;
            }

            QmpTracing.End(incident, incidentLastEvent);
            incident = null;
            return null;
        }
    }

    /// <summary>Records a MIGRATION or MIGRATION_PASS event on the migration's span, which setup (or a first sight) opens.</summary>
    public void Migration(string eventName, DateTimeOffset at, string tag, object value)
    {
        lock (gate)
        {
            if (migration is null || migrationEnd is not null)
            {
                QmpTracing.End(migration, migrationEnd);
                migration = spans.StartRoot(QmpTracing.MigrationSpan, at, vm);
                migrationEnd = null;
            }

            QmpTracing.AddEvent(migration, new ActivityEvent(eventName, at, new ActivityTagsCollection { [tag] = value }));
        }
    }

    /// <summary>Marks the migration's outcome; the span ends when query-migrate's final figures arrive (<see cref="MigrationFigures"/>).</summary>
    public void MigrationEnded(string result, DateTimeOffset at)
    {
        lock (gate)
        {
            if (migration is null)
            {
                return;
            }

            migration.SetTag(QmpTracing.MigrationResult, result);
            if (result == "failed")
            {
                migration.SetStatus(ActivityStatusCode.Error, "migration failed");
            }

            migrationEnd = at;
        }
    }

    /// <summary>query-migrate after the end: RAM figures and times as attributes, then the span ends at the outcome's time.</summary>
    public void MigrationFigures(JsonElement info)
    {
        lock (gate)
        {
            if (migration is null || migrationEnd is null)
            {
                return;
            }

            if (info.TryGetProperty("ram", out var ram) && ram.ValueKind == JsonValueKind.Object)
            {
                foreach (var member in ram.EnumerateObject())
                {
                    if (member.Value.ValueKind == JsonValueKind.Number && member.Value.TryGetInt64(out var number))
                    {
                        migration.SetTag(QmpTracing.MigrationRamPrefix + member.Name.Replace('-', '_'), number);
                    }
                }
            }

            SetLong(migration, QmpTracing.MigrationTotalTime, info, "total-time");
            SetLong(migration, QmpTracing.MigrationDowntime, info, "downtime");
            SetLong(migration, QmpTracing.MigrationSetupTime, info, "setup-time");
            QmpTracing.End(migration, migrationEnd);
            migration = null;
            migrationEnd = null;
        }
    }

    /// <summary>Ends every open span: the session is going away (VM removed, exporter stopping).</summary>
    public void EndAll()
    {
        lock (gate)
        {
            QmpTracing.End(migration, migrationEnd);
            QmpTracing.End(incident, incidentLastEvent);
            migration = incident = null;
        }
    }

    private static void SetLong(Activity activity, string tag, JsonElement info, string member)
    {
        if (info.TryGetProperty(member, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number))
        {
            activity.SetTag(tag, number);
        }
    }
}
