using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using QmpExporter.Hosting;
using QmpExporter.Mappings;
using QmpExporter.Qmp;
using QmpExporter.Sources;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Libvirt;

/// <summary>
/// One libvirt domain watched through libvirt: the QMP events libvirt relays go through the same mappings as a
/// socket session's, and the state a socket session would query from QEMU comes from libvirt's public API instead
/// (run state, block jobs, migration, the disks of the live XML), turned into the shape of QEMU's reply and applied by
/// the same state queries. No command ever reaches the monitor, so the domain is never tainted.
/// </summary>
internal sealed class LibvirtDomain : IAsyncDisposable
{
    private readonly VmContext vm;
    private readonly PollSettings polling;
    private readonly ILogger logger;

    /// <summary>Events (libvirt's event loop thread) and query results (this domain's sync task) are applied one at a time, in the order they arrive.</summary>
    private readonly Lock applyGate = new();

    /// <summary>Guards <see cref="handle"/>: libvirt calls hold it, so the handle is never freed under one.</summary>
    private readonly Lock handleGate = new();
    private readonly Channel<bool> wakeUps = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource stopping = new();
    private readonly HashSet<string> failedOnce = new(StringComparer.Ordinal);
    private Task running = Task.CompletedTask;
    private nint handle;
    private bool synced;
    private DomainXml? disks;

    public LibvirtDomain(string name, VmSeries series, PollSettings polling, TimeProvider time, ILogger logger, SpanSource spans)
    {
        this.polling = polling;
        this.logger = logger;
        vm = new VmContext(name, series, time, logger, spans) { RequestPosted = () => wakeUps.Writer.TryWrite(true) };
        series.Seed();
    }

    public string Name => vm.Name;

    public VmSeries Series => vm.Series;

    public string Uuid { get; private set; } = "";

    /// <summary>libvirt's id of the domain's current or last run: events of a run that already stopped are late, not a new start.</summary>
    public uint RunId { get; private set; }

    /// <summary>Bumped on every start and stop, so that a departure scheduled before a restart does nothing.</summary>
    public int Generation { get; private set; }

    /// <summary>True from a start (or discovery) to a stop: unlike <see cref="Attached"/>, a lost connection to libvirt does not change it.</summary>
    public bool Running { get; private set; }

    public bool Attached
    {
        get
        {
            lock (handleGate)
            {
                return handle != 0;
            }
        }
    }

    public void Start() => running = Task.Run(() => RunAsync(stopping.Token));

    /// <summary>A relayed QMP event: counted and mapped exactly as a socket session does.</summary>
    public void OnEvent(string name, long seconds, uint microseconds, ReadOnlySpan<byte> data)
    {
        lock (applyGate)
        {
            EventMappings.Dispatch(new QmpEvent(name, seconds, microseconds, data), vm);
        }
    }

    /// <summary>
    /// Takes over a domain handle (a reference of its own) for a running domain, after a start or a (re)connect to
    /// libvirt, and re-reads the whole state. <paramref name="started"/>: the domain started (counted as a connect);
    /// otherwise it was running already and libvirt reconnected.
    /// </summary>
    public void Attach(nint domain, string uuid, bool started)
    {
        nint old;
        lock (handleGate)
        {
            old = handle;
            handle = domain;
            synced = false;
        }

        if (old != 0)
        {
            // Fails only for an invalid handle: nothing to undo.
            _ = LibvirtNative.virDomainFree(old);
        }

        Uuid = uuid;

        // qemu_info's uuid; libvirt's public API does not tell QEMU's pid.
        vm.Identity = new VmIdentity(0, Name, uuid, "");
        Running = true;
        RunId = LibvirtNative.virDomainGetID(domain);
        Generation++;
        if (started || old == 0 && Series.Get(SessionMetrics.Connects) == 0)
        {
            Series.Add(SessionMetrics.Connects);
            Log.LibvirtDomainStarted(logger, Name, uuid);
        }

        vm.Request(VmQuery.All);
    }

    /// <summary>
    /// Lets go of the domain: it stopped (<paramref name="stopped"/>, counted as a disconnect) or the connection to
    /// libvirt went away. Its run state is unknown until it is attached again.
    /// </summary>
    public void Detach(bool stopped)
    {
        nint old;
        lock (handleGate)
        {
            old = handle;
            handle = 0;
        }

        if (old != 0)
        {
            _ = LibvirtNative.virDomainFree(old);
        }

        lock (applyGate)
        {
            Series.Set(SessionMetrics.Up, 0);
            EventMappings.Disconnected(vm);
            if (stopped)
            {
                Running = false;
                Generation++;
                Series.Add(SessionMetrics.Disconnects);
                Log.LibvirtDomainStopped(logger, Name);
            }
        }
    }

    /// <summary>libvirt finished a block job of the domain (and updated its XML): the disks' node names may have changed.</summary>
    public void OnBlockJobEnded() => vm.Request(VmQuery.Block);

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        await running.ConfigureAwait(false);
        stopping.Dispose();
        Detach(stopped: false);
        lock (applyGate)
        {
            EventMappings.Removed(vm);
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var queries = new QueryScheduler(vm, polling, logger);
        while (!cancellationToken.IsCancellationRequested)
        {
            if (Attached)
            {
                await queries.RunDueAsync(RunQueryAsync, cancellationToken).ConfigureAwait(false);
                OnSynced();
            }

            try
            {
                using var timerCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var wake = wakeUps.Reader.WaitToReadAsync(cancellationToken).AsTask();
                var timer = Task.Delay(queries.NextWake() ?? Timeout.InfiniteTimeSpan, vm.Time, timerCancel.Token);
                await Task.WhenAny(wake, timer).ConfigureAwait(false);
                await timerCancel.CancelAsync().ConfigureAwait(false);
                wakeUps.Reader.TryRead(out _);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>After the first state read of an attach: the mappings hear of it, and the domain is up.</summary>
    private void OnSynced()
    {
        lock (handleGate)
        {
            if (handle == 0 || synced)
            {
                return;
            }

            synced = true;
        }

        lock (applyGate)
        {
            // Detach lets go of the handle before it takes this gate: a domain detached meanwhile stays down.
            if (Attached)
            {
                EventMappings.Resynced(vm);

                // Up only once the state is in: the first scrape that shows the domain up is right.
                Series.Set(SessionMetrics.Up, 1);
            }
        }
    }

    /// <summary>Runs the libvirt equivalent of one state query and applies it as QEMU's reply would be.</summary>
    private async Task RunQueryAsync(IStateQuery query, long sentAt, CancellationToken cancellationToken)
    {
        string? reply;
        try
        {
            reply = query.Query switch
            {
                VmQuery.Block => ReadDisks(sentAt),
                VmQuery.Version => await ReadVersionAsync().ConfigureAwait(false),
                VmQuery.Status => StatusReply(),
                VmQuery.BlockJobs => BlockJobsReply(),
                VmQuery.Migration => MigrationReply(),

                // libvirt has no public call for QEMU's failed-operation counts; the slot keeps node names current instead.
                VmQuery.BlockStats => RefreshNodes(sentAt),
                _ => null,
            };
        }
        catch (LibvirtCallException e)
        {
            if (failedOnce.Add(query.Command))
            {
                Log.LibvirtQueryFailed(logger, Name, e.Message);
            }

            return;
        }

        if (reply is null)
        {
            return;
        }

        using var document = JsonDocument.Parse(reply);
        lock (applyGate)
        {
            query.Apply(document.RootElement, vm, sentAt);
        }
    }

    /// <summary>Calls libvirt with the domain's handle; false when the domain is detached.</summary>
    private T? Call<T>(Func<nint, T> call)
    {
        lock (handleGate)
        {
            return handle == 0 ? default : call(handle);
        }
    }

    /// <summary>Reads the live XML: the disks for node names and trays, as query-block's reply; null when detached.</summary>
    private string? ReadDisks(long sentAt)
    {
        var xml = Call(dom => LibvirtNative.TakeUtf8(LibvirtNative.virDomainGetXMLDesc(dom, 0)) ?? throw new LibvirtCallException("virDomainGetXMLDesc: " + LibvirtNative.LastError()));
        if (xml is null)
        {
            return null;
        }

        disks = DomainXml.Parse(xml);
        lock (applyGate)
        {
            BlockNodeInfo.Apply(vm, disks, sentAt);
        }

        var reply = new StringBuilder("[");
        foreach (var disk in disks.Disks)
        {
            reply.Append(reply.Length > 1 ? "," : "")
                .Append("{\"device\":\"\",\"qdev\":").Append(Quote(disk.Alias))
                .Append(disk.TrayOpen is { } open ? (open ? ",\"tray_open\":true" : ",\"tray_open\":false") : "")
                .Append(disk.TopNode is { } node ? ",\"inserted\":{\"node-name\":" + Quote(node) + "}" : "")
                .Append('}');
        }

        return reply.Append(']').ToString();
    }

    private string? RefreshNodes(long sentAt)
    {
        ReadDisks(sentAt);
        return null;
    }

    /// <summary>The emulator's version as query-version's reply (libvirt's hypervisor version where the binary cannot be run).</summary>
    private async Task<string?> ReadVersionAsync()
    {
        disks ??= Call(dom => LibvirtNative.TakeUtf8(LibvirtNative.virDomainGetXMLDesc(dom, 0))) is { } xml ? DomainXml.Parse(xml) : null;
        var emulator = disks?.Emulator ?? "";
        var (version, package) = await EmulatorVersion.GetAsync(emulator).ConfigureAwait(false)
            ?? (Call(LibvirtStates.HypervisorVersion) is { } hypervisor ? (hypervisor, "") : default);
        if (version?.Split('.') is not [var major, var minor, var micro])
        {
            return null;
        }

        return $"{{\"qemu\":{{\"major\":{major},\"minor\":{minor},\"micro\":{micro}}},\"package\":{Quote(package)}}}";
    }

    /// <summary>virDomainGetState as query-status's StatusInfo; null when the domain does not run.</summary>
    private string? StatusReply()
    {
        var state = Call(dom => LibvirtNative.virDomainGetState(dom, out var s, out var r, 0) == 0 ? (s, r) : throw new LibvirtCallException("virDomainGetState: " + LibvirtNative.LastError()));
        return LibvirtStates.QemuStatus(state.s, state.r) is { } status
            ? $"{{\"status\":\"{status}\",\"running\":{(status == "running" ? "true" : "false")}}}"
            : null;
    }

    /// <summary>virDomainGetBlockJobInfo for every disk, as query-block-jobs's reply, named as libvirt names the job in QEMU.</summary>
    private string? BlockJobsReply()
    {
        if (disks is null)
        {
            return null;
        }

        var reply = new StringBuilder("[");
        foreach (var disk in disks.Disks)
        {
            if (disk.TopNode is not { } node)
            {
                continue;
            }

            var found = Call(dom => LibvirtNative.virDomainGetBlockJobInfo(dom, disk.Target, out var info, LibvirtNative.BlockJobInfoBandwidthBytes) switch
            {
                1 => info,
                0 => (LibvirtNative.BlockJobInfo?)null,
                _ => throw new LibvirtCallException("virDomainGetBlockJobInfo: " + LibvirtNative.LastError()),
            });
            if (found is not { } job || LibvirtStates.JobKind(job.Type) is not { } kind)
            {
                continue;
            }

            var ready = kind.Ready && job.End > 0 && job.Cur == job.End;
            reply.Append(reply.Length > 1 ? "," : "")
                .Append("{\"device\":").Append(Quote($"{kind.Prefix}-{disk.Target}-{node}"))
                .Append(",\"type\":\"").Append(kind.QemuType).Append('"')
                .Append(",\"offset\":").Append(job.Cur).Append(",\"len\":").Append(job.End).Append(",\"speed\":").Append((ulong)job.Bandwidth)
                .Append(",\"ready\":").Append(ready ? "true" : "false").Append(",\"status\":\"").Append(ready ? "ready" : "running").Append("\"}");
        }

        return reply.Append(']').ToString();
    }

    /// <summary>virDomainGetJobStats as query-migrate's MigrationInfo: an outgoing migration that runs or the last one that ended.</summary>
    private string? MigrationReply()
    {
        return Call(dom =>
        {
            if (LibvirtStates.JobStats(dom, 0) is { Operation: LibvirtStates.OperationMigrationOut } active && LibvirtStates.MigrationStatus(active.Type) is { } status)
            {
                return $"{{\"status\":\"{status}\",\"ram\":{{\"dirty-sync-count\":{active.MemoryIteration}}}}}";
            }

            if (LibvirtStates.JobStats(dom, LibvirtNative.JobStatsCompleted) is { Operation: LibvirtStates.OperationMigrationOut } last && LibvirtStates.MigrationStatus(last.Type) is { } ended)
            {
                return $"{{\"status\":\"{ended}\"}}";
            }

            // No migration known to libvirt; one believed to run ended while the connection was down.
            return vm.MigrationActive ? "{\"status\":\"none\"}" : "{}";
        });
    }

    private static string Quote(string value) => "\"" + JsonEncodedText.Encode(value) + "\"";
}

/// <summary>A libvirt call that failed, with libvirt's message.</summary>
internal sealed class LibvirtCallException(string message) : Exception(message);
