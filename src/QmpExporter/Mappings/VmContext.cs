using Microsoft.Extensions.Logging;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// What mappings and state queries may touch of one VM: its series, the state that events alone do not carry (node
/// names, running jobs, a running migration), and requests for queries. Events and query replies are applied on the
/// connection's read loop, in the order QEMU sent them.
/// </summary>
internal sealed class VmContext(string name, VmSeries series, TimeProvider time, ILogger logger, SpanSource spans)
{
    private int requested;
    private long eventSequence;

    public string Name { get; } = name;

    public VmSeries Series { get; } = series;

    public TimeProvider Time { get; } = time;

    public ILogger Logger { get; } = logger;

    public BlockNodeNames NodeNames { get; } = new();

    /// <summary>The exporter's span source: spans are recorded only while something listens to it.</summary>
    public SpanSource Spans { get; } = spans;

    public BlockJobTracker Jobs { get; } = new(name, series, spans);

    public VmTraces Traces { get; } = new(name, spans);

    /// <summary>Who is at the other end of the current connection (pid, uuid, ...), set on each connect.</summary>
    public Sources.VmIdentity Identity { get; set; } = Sources.VmIdentity.Unknown;

    /// <summary>
    /// How many events this VM's session has applied: the clock by which a query reply is judged. QEMU may write a
    /// reply that predates events it already sent (a block job's or a migration's status, measured here), so state
    /// that had an event after a query was sent keeps the event's word over the reply's.
    /// </summary>
    public long EventSequence => Volatile.Read(ref eventSequence);

    /// <summary>The <see cref="EventSequence"/> of the last run-state and migration event.</summary>
    public long LastRunStateEvent { get; set; }

    public long LastMigrationEvent { get; set; }

    /// <summary>The <see cref="EventSequence"/> of the last BLOCK_WRITE_THRESHOLD event.</summary>
    public long LastWriteThresholdEvent { get; set; }

    /// <summary>The <see cref="EventSequence"/> of each drive's last tray event (read loop only).</summary>
    public Dictionary<SeriesKey, long> LastTrayEvents { get; } = [];

    /// <summary>True from a migration's setup until it completes, fails or is cancelled: query-migrate is polled meanwhile.</summary>
    public bool MigrationActive { get; set; }

    /// <summary>True while the running (or last) migration is incoming: the VM was in run state inmigrate when it began.</summary>
    public bool MigrationIncoming { get; set; }

    /// <summary>True from an outgoing migration's end until query-migrate's final figures are observed.</summary>
    public bool MigrationFiguresPending { get; set; }

    /// <summary>When the last migration ended, until its progress gauges expire.</summary>
    public DateTimeOffset? MigrationEndedAt { get; set; }

    /// <summary>Throttles log lines about events that can come in floods (a looping guest hits an I/O error ~20 times a second).</summary>
    public LogThrottle EventLogThrottle { get; } = new(time, TimeSpan.FromSeconds(10));

    /// <summary>Called when a query is requested, so the session wakes up.</summary>
    public Action? RequestPosted { get; set; }

    /// <summary>Asks the session to run these queries soon.</summary>
    public void Request(VmQuery queries)
    {
        // Only the first request wakes the session: a flood of events must not become a flood of wake-ups.
        if (Interlocked.Or(ref requested, (int)queries) == 0)
        {
            RequestPosted?.Invoke();
        }
    }

    /// <summary>Makes the session look at its timers again (a new incident span to end when quiet).</summary>
    public void Wake() => RequestPosted?.Invoke();

    /// <summary>Counts one more event; called on the read loop before the event is applied.</summary>
    public long NextEvent() => Interlocked.Increment(ref eventSequence);

    public VmQuery TakeRequests() => (VmQuery)Interlocked.Exchange(ref requested, 0);
}
