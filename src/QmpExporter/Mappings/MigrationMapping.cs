using System.Text.Json;
using QmpExporter.Qmp;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// MIGRATION and MIGRATION_PASS (qapi/migration.json), with query-migrate after every (re)connect and while a
/// migration runs; its <c>ram.dirty-sync-count</c> is the pass number MIGRATION_PASS reports.
/// </summary>
internal sealed class MigrationMapping : IEventMapping, IStateQuery
{
    public const string Migration = "MIGRATION";
    public const string PassEvent = "MIGRATION_PASS";

    public static readonly MetricFamily MigrationPass = MetricFamily.Gauge("qemu_migration_pass",
        "Dirty-memory pass of the current or last outgoing migration (QMP MIGRATION_PASS, query-migrate ram.dirty-sync-count); many passes mean it does not converge.", [], 1);

    public static readonly MetricFamily MigrationStatus = MetricFamily.Gauge("qemu_migration_status",
        "1 for the current migration status (QMP MIGRATION event, query-migrate), 0 for the other statuses seen.", ["status"], 24);

    public static readonly MetricFamily Migrations = MetricFamily.Counter("qemu_migrations_total",
        "Outgoing migrations that ended, by result: completed, failed or cancelled (QMP MIGRATION event). Needs the 'events' migration capability, which libvirt sets.", ["result"], 8).Seeded("completed", "failed", "cancelled");

    public static readonly MetricFamily IncomingMigrations = MetricFamily.Counter("qemu_migrations_incoming_total",
        "Incoming migrations that ended on this VM (started with -incoming, run state inmigrate when the migration began), by result: completed, failed or cancelled (QMP MIGRATION event). Needs the 'events' migration capability on the destination.", ["result"], 8).Seeded("completed", "failed", "cancelled");

    /// <summary>Bounds for migrations of milliseconds of downtime up to hours of total time.</summary>
    private static readonly double[] SecondsToHours = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400];

    public static readonly MetricFamily Duration = MetricFamily.Histogram("qemu_migration_duration_seconds",
        "Total time of each completed outgoing migration (query-migrate total-time of the final reply).", SecondsToHours);

    public static readonly MetricFamily Downtime = MetricFamily.Histogram("qemu_migration_downtime_seconds",
        "Time the guest was stopped at the end of each completed outgoing migration (query-migrate downtime of the final reply).", SecondsToHours);

    public static readonly MetricFamily Setup = MetricFamily.Histogram("qemu_migration_setup_seconds",
        "Setup time of each completed outgoing migration (query-migrate setup-time of the final reply).", SecondsToHours);

    public IReadOnlyList<MetricFamily> Families { get; } =
        [MigrationPass, MigrationStatus, Migrations, IncomingMigrations, .. MigrationProgress.Families, Duration, Downtime, Setup];

    public IReadOnlyList<string> Events { get; } = [Migration, PassEvent];

    public bool RecordsOwnSpans => true;

    public VmQuery Query => VmQuery.Migration;

    public string Command => "query-migrate";

    public void Apply(in QmpEvent evt, VmContext vm)
    {
        vm.LastMigrationEvent = vm.EventSequence;
        if (evt.Name == PassEvent)
        {
            if (EventData.Long(evt.Data, "pass"u8) is { } pass)
            {
                vm.Series.Set(MigrationPass, pass);
                if (vm.Spans.Enabled)
                {
                    vm.Traces.Migration(PassEvent, evt.Timestamp, QmpTracing.MigrationPass, pass);
                }
            }

            return;
        }

        if (EventData.EnumString(evt.Data, "status"u8) is not { } status)
        {
            return;
        }

        if (status == "setup")
        {
            vm.Series.Set(MigrationPass, 0);
        }

        vm.Traces.Migration(Migration, evt.Timestamp, QmpTracing.MigrationStatus, status);
        if (status is "completed" or "failed" or "cancelled")
        {
            vm.Series.Add((vm.MigrationIncoming ? IncomingMigrations : Migrations).With("result", status));
            vm.Traces.MigrationEnded(status, evt.Timestamp);

            // The run state moves on (postmigrate, or running again) without an event of its own.
            vm.Request(VmQuery.Migration | VmQuery.Status);
        }

        SetStatus(vm, status);
    }

    public TimeSpan? PollInterval(VmContext vm, PollSettings settings) => vm.MigrationActive ? settings.ActivePollInterval : null;

    /// <summary>Applies a query-migrate reply (MigrationInfo); it is empty when no migration ever ran.</summary>
    public void Apply(JsonElement result, VmContext vm, long sentAt)
    {
        if (vm.LastMigrationEvent > sentAt)
        {
            // QEMU may answer with a status older than an event it already sent (seen: "active" after "failed").
            // The events stand; a span still waiting for its final figures asks again.
            if (vm.Traces.AwaitingMigrationFigures || vm.MigrationFiguresPending)
            {
                vm.Request(VmQuery.Migration);
            }

            return;
        }

        if (EventData.String(result, "status") is not { } status)
        {
            return;
        }

        SetStatus(vm, status);
        if (vm.MigrationActive && !vm.Traces.MigrationOpen)
        {
            // A migration already running when we (re)connected: its span starts now.
            vm.Traces.Migration(Migration, vm.Time.GetUtcNow(), QmpTracing.MigrationStatus, status);
        }

        if (result.TryGetProperty("ram", out var ram) && EventData.Long(ram, "dirty-sync-count") is { } pass)
        {
            vm.Series.Set(MigrationPass, pass);
        }

        if (vm.MigrationActive || vm.MigrationFiguresPending)
        {
            MigrationProgress.Apply(result, vm.Series);
        }

        if (vm.MigrationFiguresPending && status == "completed")
        {
            vm.MigrationFiguresPending = false;
            Observe(Duration, result, "total-time", vm);
            Observe(Downtime, result, "downtime", vm);
            Observe(Setup, result, "setup-time", vm);
        }
        else if (!vm.MigrationActive)
        {
            // Failed and cancelled migrations have no final times.
            vm.MigrationFiguresPending = false;
        }

        vm.Traces.MigrationFigures(result);
    }

    /// <summary>Releases the progress gauges once a finished migration's retention (QmpExporter:FinishedJobRetention) is over.</summary>
    public DateTimeOffset? Due(VmContext vm, DateTimeOffset now, PollSettings settings)
    {
        if (vm.MigrationEndedAt is not { } ended)
        {
            return null;
        }

        if (now < ended + settings.FinishedJobRetention)
        {
            return ended + settings.FinishedJobRetention;
        }

        foreach (var family in MigrationProgress.Families)
        {
            vm.Series.Clear(family);
        }

        vm.MigrationEndedAt = null;
        return null;
    }

    private static void Observe(MetricFamily histogram, JsonElement result, string milliseconds, VmContext vm)
    {
        if (EventData.Long(result, milliseconds) is { } ms)
        {
            vm.Series.Observe(histogram, ms / 1000.0);
        }
    }

    private static void SetStatus(VmContext vm, string status)
    {
        vm.Series.SetState(MigrationStatus.With("status", status));
        var wasActive = vm.MigrationActive;
        vm.MigrationActive = status is not ("none" or "completed" or "failed" or "cancelled");
        if (vm.MigrationActive && !wasActive)
        {
            // The destination of a migration waits in run state inmigrate until the migration is over.
            vm.MigrationIncoming = vm.Series.Get(RunStateMapping.VmStatus.With("status", "inmigrate")) == 1;
            vm.MigrationEndedAt = null;
            foreach (var family in MigrationProgress.Families)
            {
                vm.Series.Clear(family);
            }

            // Start polling now, not at the session's next timer.
            vm.Request(VmQuery.Migration);
        }
        else if (wasActive && !vm.MigrationActive)
        {
            vm.MigrationEndedAt = vm.Time.GetUtcNow();
            vm.MigrationFiguresPending = !vm.MigrationIncoming;
            vm.Request(VmQuery.Migration);
        }
    }
}
