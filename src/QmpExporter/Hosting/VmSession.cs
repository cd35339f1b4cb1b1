using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using QmpExporter.Mappings;
using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Hosting;

/// <summary>
/// The supervised QMP session of one VM: connects, negotiates, runs every state query after each (re)connect, again
/// when an event asks for it and on a timer while something runs, and reconnects with capped exponential backoff and
/// jitter. Nothing escapes it: a failing, hanging or flooding VM only ever affects its own series.
/// </summary>
internal sealed class VmSession : IQmpEventHandler, IAsyncDisposable
{
    private const string EndOfStream = "end of stream (QEMU exited or closed the monitor)";

    private readonly QmpClientOptions clientOptions;
    private readonly PollSettings polling;
    private readonly TimeSpan minDelay;
    private readonly TimeSpan maxDelay;
    private readonly ILogger logger;
    private readonly VmContext vm;
    private readonly CancellationTokenSource stopping = new();
    private readonly Channel<bool> wakeUps = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly LogThrottle protocolErrorLog;
    private Task running = Task.CompletedTask;

    public VmSession(string name, QmpEndpoint endpoint, VmSeries series, QmpClientOptions clientOptions, PollSettings polling, TimeSpan minDelay, TimeSpan maxDelay, ILogger logger)
    {
        Name = name;
        Endpoint = endpoint;
        this.clientOptions = clientOptions;
        this.polling = polling;
        this.minDelay = minDelay;
        this.maxDelay = maxDelay;
        this.logger = logger;
        vm = new VmContext(name, series, clientOptions.TimeProvider, logger) { RequestPosted = () => wakeUps.Writer.TryWrite(true) };
        protocolErrorLog = new LogThrottle(clientOptions.TimeProvider, TimeSpan.FromSeconds(10));
        StartSeries(series);
    }

    /// <summary>The series every VM has from the start, whichever way it is watched.</summary>
    public static void StartSeries(VmSeries series)
    {
        series.Set(MetricCatalog.Up, SeriesKey.None, 0);
        foreach (var counter in (MetricFamily[])[MetricCatalog.Connects, MetricCatalog.Disconnects, MetricCatalog.Stops, MetricCatalog.QuorumFailures])
        {
            series.Add(counter, SeriesKey.None, 0);
        }

        // Counters of rare outcomes exist from the start, so that increase() sees their first event.
        foreach (var reason in QmpProtocolErrorReasons.All)
        {
            series.Add(MetricCatalog.ProtocolErrors, new SeriesKey(reason), 0);
        }

        foreach (var result in (string[])["completed", "failed", "cancelled"])
        {
            series.Add(MetricCatalog.Migrations, new SeriesKey(result), 0);
        }

        foreach (var result in (string[])["completed", "failed"])
        {
            series.Add(MetricCatalog.Dumps, new SeriesKey(result), 0);
        }
    }

    public string Name { get; }

    public QmpEndpoint Endpoint { get; }

    public VmSeries Series => vm.Series;

    public bool IsUp => Series.Get(MetricCatalog.Up, SeriesKey.None) == 1;

    private TimeProvider Time => clientOptions.TimeProvider;

    public void Start() => running = Task.Run(() => RunAsync(stopping.Token));

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        await running.ConfigureAwait(false);
        stopping.Dispose();
        vm.Jobs.EndAllSpans();
        vm.Traces.EndAll();

        // The jobs' tracker goes with this session; a session on a new socket re-queries the jobs that still run.
        foreach (var family in (MetricFamily[])[MetricCatalog.BlockJobOffset, MetricCatalog.BlockJobLen, MetricCatalog.BlockJobSpeed, MetricCatalog.BlockJobReady])
        {
            Series.Clear(family);
        }
    }

    public void OnEvent(in QmpEvent evt) => EventMappings.Dispatch(evt, vm);

    public void OnProtocolError(string reason, string detail)
    {
        Series.Add(MetricCatalog.ProtocolErrors, new SeriesKey(reason));
        if (protocolErrorLog.TryEnter(out var suppressed))
        {
            Log.ProtocolError(logger, Name, reason, detail, suppressed);
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var attempt = 0;
        string? lastProblem = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            string? problem = null;
            try
            {
                var client = await QmpClient.ConnectAsync(Endpoint, this, clientOptions, cancellationToken).ConfigureAwait(false);
                var ended = "an unexpected error";
                try
                {
                    await using (client.ConfigureAwait(false))
                    {
                        attempt = 0;
                        lastProblem = null;
                        OnConnected(client.Greeting);
                        ended = await ServeAsync(client, cancellationToken).ConfigureAwait(false);
                    }
                }
                finally
                {
                    // After the client is disposed: no event or reply can write the run state back afterwards.
                    OnDisconnected(cancellationToken.IsCancellationRequested ? "stopped (VM removed, its socket changed, or the exporter is stopping)" : ended);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (QmpException e)
            {
                if (e is QmpProtocolException protocol)
                {
                    Series.Add(MetricCatalog.ProtocolErrors, new SeriesKey(protocol.Reason));
                }

                problem = e.Message;
            }
            catch (Exception e)
            {
                Log.SessionCrashed(logger, Name, e);
                problem = e.Message;
            }

            var delay = Backoff(attempt++);
            if (problem is not null && problem != lastProblem)
            {
                Log.ConnectFailed(logger, Name, problem, delay.TotalSeconds);
                lastProblem = problem;
            }
            else if (problem is not null)
            {
                Log.ConnectStillFailing(logger, Name, problem, delay.TotalSeconds);
            }

            try
            {
                await Task.Delay(delay, Time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        Series.Set(MetricCatalog.Up, SeriesKey.None, 0);
    }

    /// <summary>Serves one negotiated connection until it ends; returns why it ended.</summary>
    private async Task<string> ServeAsync(QmpClient client, CancellationToken cancellationToken)
    {
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var lastRun = new DateTimeOffset?[EventMappings.Queries.Count];
        var failedOnce = new bool[EventMappings.Queries.Count];
        vm.Request(VmQuery.All);
        Task<bool>? wake = null;
        try
        {
            while (true)
            {
                var requested = vm.TakeRequests();
                for (var i = 0; i < EventMappings.Queries.Count; i++)
                {
                    var query = EventMappings.Queries[i];
                    if (requested.HasFlag(query.Query) || IsDue(query, lastRun[i]))
                    {
                        lastRun[i] = Time.GetUtcNow();
                        await RunQueryAsync(client, query, failedOnce, i, connection.Token).ConfigureAwait(false);
                    }
                }

                // Up only once the state queries after the connect are in: the first scrape that shows a VM up is right.
                Series.Set(MetricCatalog.Up, SeriesKey.None, 1);

                wake ??= wakeUps.Reader.WaitToReadAsync(connection.Token).AsTask();
                using var timerCancel = CancellationTokenSource.CreateLinkedTokenSource(connection.Token);
                var timer = Task.Delay(NextWake(lastRun) ?? Timeout.InfiniteTimeSpan, Time, timerCancel.Token);
                var woken = await Task.WhenAny(wake, timer, client.Completion).ConfigureAwait(false);
                await timerCancel.CancelAsync().ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                if (woken == client.Completion)
                {
                    await client.Completion.ConfigureAwait(false);
                    return EndOfStream;
                }

                if (woken == wake)
                {
                    wake = null;
                    wakeUps.Reader.TryRead(out _);
                }
            }
        }
        catch (QmpDisconnectedException)
        {
            return EndOfStream;
        }
        catch (QmpProtocolException e)
        {
            Series.Add(MetricCatalog.ProtocolErrors, new SeriesKey(e.Reason));
            return e.Message;
        }
        finally
        {
            await connection.CancelAsync().ConfigureAwait(false);
        }
    }

    private async Task RunQueryAsync(QmpClient client, IStateQuery query, bool[] failedOnce, int index, CancellationToken cancellationToken)
    {
        try
        {
            var sentAt = vm.EventSequence;
            await client.ExecuteAsync(query.Command, null, result => query.Apply(result, vm, sentAt), cancellationToken).ConfigureAwait(false);
        }
        catch (QmpCommandException e)
        {
            // A QEMU without the command (or in a state that refuses it) says so every time: log it once per connection.
            if (!failedOnce[index])
            {
                failedOnce[index] = true;
                Log.QueryFailed(logger, Name, e.Message);
            }
        }
    }

    private bool IsDue(IStateQuery query, DateTimeOffset? lastRun) =>
        lastRun is { } last && query.PollInterval(vm, polling) is { } interval && Time.GetUtcNow() - last >= interval;

    /// <summary>Time until the next poll or the next finished job's gauges expire; null for nothing scheduled.</summary>
    private TimeSpan? NextWake(DateTimeOffset?[] lastRun)
    {
        var now = Time.GetUtcNow();
        var next = Earliest(vm.Jobs.Expire(now, polling.FinishedJobRetention, Series), vm.Traces.EndQuietIncident(now));
        for (var i = 0; i < lastRun.Length; i++)
        {
            if (lastRun[i] is { } last && EventMappings.Queries[i].PollInterval(vm, polling) is { } interval && (next is null || last + interval < next))
            {
                next = last + interval;
            }
        }

        return next is { } due ? (due > now ? due - now : TimeSpan.Zero) : null;
    }

    private static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;

    private void OnConnected(QmpGreeting greeting)
    {
        QemuVersionQuery.SetInfo(Series, greeting.Version, greeting.Package);
        Series.Add(MetricCatalog.Connects, SeriesKey.None);
        Log.Connected(logger, Name, greeting.Version, greeting.Package, Endpoint.ToString());
    }

    private void OnDisconnected(string reason)
    {
        Series.Set(MetricCatalog.Up, SeriesKey.None, 0);

        // Without a monitor the run state is unknown (QEMU may have exited): no series rather than a stale one.
        Series.Clear(MetricCatalog.VmRunning);
        Series.Clear(MetricCatalog.VmStatus);
        Series.Add(MetricCatalog.Disconnects, SeriesKey.None);
        Log.Disconnected(logger, Name, Endpoint.ToString(), reason);
    }

    /// <summary>Equal jitter: half the exponential delay fixed, half random, so many VMs that failed together spread out.</summary>
    private TimeSpan Backoff(int attempt)
    {
        var exponential = minDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30));
        var capped = Math.Min(exponential, maxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((capped / 2) + (Random.Shared.NextDouble() * capped / 2));
    }
}
