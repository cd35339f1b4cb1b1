using Microsoft.Extensions.Logging;
using QmpExporter.Mappings;
using QmpExporter.Qmp;

namespace QmpExporter.Hosting;

/// <summary>
/// Runs a VM's state queries on one connection: each when an event asked for it and, for some, on a timer; and tells
/// the session when to look again (the next poll, or the mappings' next timer). One per connection.
/// </summary>
internal sealed class QueryScheduler(VmContext vm, PollSettings polling, ILogger logger)
{
    /// <summary>
    /// A query that events ask for runs at most this often after its last reply: a flood of such events (a guest
    /// stopping in a loop, a job changing state) makes a handful of queries, not one per round trip.
    /// </summary>
    private static readonly TimeSpan RequestedQuerySpacing = TimeSpan.FromMilliseconds(100);

    private readonly DateTimeOffset?[] lastRun = new DateTimeOffset?[EventMappings.Queries.Count];
    private readonly bool[] failedOnce = new bool[EventMappings.Queries.Count];
    private VmQuery deferred;

    private TimeProvider Time => vm.Time;

    /// <summary>True while a requested query waits for its spacing: the session need not wake for more requests until <see cref="NextWake"/>.</summary>
    public bool HoldsBackRequests => deferred != VmQuery.None;

    /// <summary>Runs the queries requested since the last call and those due by their timer, in registration order.</summary>
    public Task RunDueAsync(QmpClient client, CancellationToken cancellationToken) =>
        RunDueAsync((query, sentAt, token) => client.ExecuteAsync(query.Command, null, result => query.Apply(result, vm, sentAt), token), cancellationToken);

    /// <summary>
    /// The same, each query answered by <paramref name="execute"/> (given the <see cref="VmContext.EventSequence"/> it
    /// was sent at): for a VM whose state comes from elsewhere than its monitor (libvirt's API).
    /// </summary>
    public async Task RunDueAsync(Func<IStateQuery, long, CancellationToken, Task> execute, CancellationToken cancellationToken)
    {
        var requested = vm.TakeRequests() | deferred;
        deferred = VmQuery.None;
        for (var i = 0; i < EventMappings.Queries.Count; i++)
        {
            var query = EventMappings.Queries[i];
            if (requested.HasFlag(query.Query) && lastRun[i] is { } last && Time.GetUtcNow() - last < RequestedQuerySpacing)
            {
                deferred |= query.Query;
            }
            else if (requested.HasFlag(query.Query) || IsDue(query, lastRun[i]))
            {
                // From its reply, so that a reply held up behind a backlog of events does not shorten the spacing.
                await RunAsync(execute, i, cancellationToken).ConfigureAwait(false);
                lastRun[i] = Time.GetUtcNow();
            }
        }
    }

    /// <summary>Time until the next poll, held-back request or mapping timer; null for nothing scheduled.</summary>
    public TimeSpan? NextWake()
    {
        var now = Time.GetUtcNow();
        var next = EventMappings.Due(vm, now, polling);
        for (var i = 0; i < lastRun.Length; i++)
        {
            if (lastRun[i] is not { } last)
            {
                continue;
            }

            var interval = deferred.HasFlag(EventMappings.Queries[i].Query) ? RequestedQuerySpacing : EventMappings.Queries[i].PollInterval(vm, polling);
            if (interval is { } wait && (next is null || last + wait < next))
            {
                next = last + wait;
            }
        }

        return next is { } due ? (due > now ? due - now : TimeSpan.Zero) : null;
    }

    private async Task RunAsync(Func<IStateQuery, long, CancellationToken, Task> execute, int index, CancellationToken cancellationToken)
    {
        var query = EventMappings.Queries[index];
        try
        {
            await execute(query, vm.EventSequence, cancellationToken).ConfigureAwait(false);
        }
        catch (QmpCommandException e)
        {
            // A QEMU without the command (or in a state that refuses it) says so every time: log it once per connection.
            if (!failedOnce[index])
            {
                failedOnce[index] = true;
                Log.QueryFailed(logger, vm.Name, PeerText.ForLog(e.Message));
            }
        }
    }

    private bool IsDue(IStateQuery query, DateTimeOffset? last) =>
        last is { } at && query.PollInterval(vm, polling) is { } interval && Time.GetUtcNow() - at >= interval;
}
