using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using QmpExporter.Mappings;
using QmpExporter.Qmp;
using QmpExporter.Sources;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Hosting;

/// <summary>
/// The supervised QMP session of one VM: connects, negotiates, has its <see cref="QueryScheduler"/> run the state
/// queries, tells the mappings of its life (<see cref="EventMappings"/>' hooks), and reconnects with capped exponential
/// backoff and jitter. Nothing escapes it: a failing, hanging or flooding VM only ever affects its own series.
/// </summary>
internal sealed class VmSession : IQmpEventHandler, IAsyncDisposable
{
    private const string EndOfStream = "end of stream (QEMU exited or closed the monitor)";

    private readonly IQmpConnector connector;
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

    public VmSession(string name, QmpEndpoint endpoint, VmSeries series, QmpClientOptions clientOptions, PollSettings polling, TimeSpan minDelay, TimeSpan maxDelay, ILogger logger, SpanSource spans)
        : this(name, new DialConnector(endpoint), series, clientOptions, polling, minDelay, maxDelay, logger, spans)
    {
    }

    /// <summary>A session whose connections come from <paramref name="connector"/>: dialled, or handed over by a listening socket.</summary>
    public VmSession(string name, IQmpConnector connector, VmSeries series, QmpClientOptions clientOptions, PollSettings polling, TimeSpan minDelay, TimeSpan maxDelay, ILogger logger, SpanSource spans)
    {
        Name = name;
        this.connector = connector;
        this.clientOptions = clientOptions;
        this.polling = polling;
        this.minDelay = minDelay;
        this.maxDelay = maxDelay;
        this.logger = logger;
        vm = new VmContext(name, series, clientOptions.TimeProvider, logger, spans) { RequestPosted = () => wakeUps.Writer.TryWrite(true) };
        protocolErrorLog = new LogThrottle(clientOptions.TimeProvider, TimeSpan.FromSeconds(10));
        series.Seed();
    }

    public string Name { get; }

    public QmpEndpoint Endpoint => connector.Endpoint;

    /// <summary>Who the current (or last) connection's peer is.</summary>
    public VmIdentity Identity => vm.Identity;

    /// <summary>Called after each established connection ended, before the next is sought; not when the session stops.</summary>
    public Action<VmSession>? ConnectionEnded { get; init; }

    public VmSeries Series => vm.Series;

    public bool IsUp => Series.Get(SessionMetrics.Up) == 1;

    private TimeProvider Time => clientOptions.TimeProvider;

    public void Start() => running = Task.Run(() => RunAsync(stopping.Token));

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        await running.ConfigureAwait(false);
        stopping.Dispose();
        EventMappings.Removed(vm);
    }

    public void OnEvent(in QmpEvent evt) => EventMappings.Dispatch(evt, vm);

    public void OnProtocolError(string reason, string detail)
    {
        Series.Add(SessionMetrics.ProtocolErrors.With("reason", reason));
        if (protocolErrorLog.TryEnter(out var suppressed))
        {
            Log.ProtocolError(logger, Name, reason, PeerText.ForLog(detail), suppressed);
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
                var (client, identity) = await connector.ConnectAsync(this, clientOptions, cancellationToken).ConfigureAwait(false);
                vm.Identity = identity;
                var ended = "an unexpected error";
                try
                {
                    await using (client.ConfigureAwait(false))
                    {
                        lastProblem = null;
                        OnConnected(client.Greeting);
                        var connectedAt = Time.GetTimestamp();
                        ended = await ServeAsync(client, cancellationToken).ConfigureAwait(false);

                        // A peer that negotiates and hangs up at once is backed off like one that refuses.
                        if (Time.GetElapsedTime(connectedAt) >= maxDelay)
                        {
                            attempt = 0;
                        }
                    }
                }
                finally
                {
                    // After the client is disposed: no event or reply can write the run state back afterwards.
                    OnDisconnected(cancellationToken.IsCancellationRequested ? "stopped (VM removed, its socket changed, or the exporter is stopping)" : ended);
                    if (!cancellationToken.IsCancellationRequested)
                    {
                        ConnectionEnded?.Invoke(this);
                    }
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
                    Series.Add(SessionMetrics.ProtocolErrors.With("reason", protocol.Reason));
                }

                problem = e.Message;
            }
            catch (Exception e)
            {
                Log.SessionCrashed(logger, Name, e);
                problem = e.Message;
            }

            if (!connector.BacksOff)
            {
                // The next connection is awaited, not dialled: nothing to back off from.
                continue;
            }

            var delay = Backoff(attempt++);
            if (problem is not null && problem != lastProblem)
            {
                Log.ConnectFailed(logger, Name, new PeerText(problem), delay.TotalSeconds);
                lastProblem = problem;
            }
            else if (problem is not null)
            {
                Log.ConnectStillFailing(logger, Name, new PeerText(problem), delay.TotalSeconds);
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

        Series.Set(SessionMetrics.Up, 0);
    }

    /// <summary>Serves one negotiated connection until it ends; returns why it ended.</summary>
    private async Task<string> ServeAsync(QmpClient client, CancellationToken cancellationToken)
    {
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var queries = new QueryScheduler(vm, polling, logger);
        var resynced = false;
        vm.Request(VmQuery.All);
        Task<bool>? wake = null;
        try
        {
            while (true)
            {
                await queries.RunDueAsync(client, connection.Token).ConfigureAwait(false);
                if (!resynced)
                {
                    resynced = true;
                    EventMappings.Resynced(vm);
                }

                // Up only once the state queries after the connect are in: the first scrape that shows a VM up is right.
                Series.Set(SessionMetrics.Up, 1);

                wake ??= wakeUps.Reader.WaitToReadAsync(connection.Token).AsTask();
                using var timerCancel = CancellationTokenSource.CreateLinkedTokenSource(connection.Token);
                var timer = Task.Delay(queries.NextWake() ?? Timeout.InfiniteTimeSpan, Time, timerCancel.Token);
                // With a query held back, more requests only add to it: sleep until it is due rather than wake per event.
                var woken = queries.HoldsBackRequests
                    ? await Task.WhenAny(timer, client.Completion).ConfigureAwait(false)
                    : await Task.WhenAny(wake, timer, client.Completion).ConfigureAwait(false);
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
            Series.Add(SessionMetrics.ProtocolErrors.With("reason", e.Reason));
            return e.Message;
        }
        finally
        {
            await connection.CancelAsync().ConfigureAwait(false);
        }
    }

    private void OnConnected(QmpGreeting greeting)
    {
        Series.Add(SessionMetrics.Connects);
        EventMappings.Connected(vm, greeting);
        Log.Connected(logger, Name, new PeerText(greeting.Version), new PeerText(greeting.Package), Endpoint);
    }

    private void OnDisconnected(string reason)
    {
        Series.Set(SessionMetrics.Up, 0);
        EventMappings.Disconnected(vm);
        Series.Add(SessionMetrics.Disconnects);
        Log.Disconnected(logger, Name, Endpoint, new PeerText(reason));
    }

    /// <summary>Equal jitter: half the exponential delay fixed, half random, so many VMs that failed together spread out.</summary>
    private TimeSpan Backoff(int attempt)
    {
        var exponential = minDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30));
        var capped = Math.Min(exponential, maxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((capped / 2) + (Random.Shared.NextDouble() * capped / 2));
    }
}
