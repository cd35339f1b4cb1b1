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
    private readonly DateTimeOffset?[] lastRun = new DateTimeOffset?[EventMappings.Queries.Count];
    private readonly bool[] failedOnce = new bool[EventMappings.Queries.Count];

    private TimeProvider Time => vm.Time;

    /// <summary>Runs the queries requested since the last call and those due by their timer, in registration order.</summary>
    public Task RunDueAsync(QmpClient client, CancellationToken cancellationToken) =>
        RunDueAsync((query, sentAt, token) => client.ExecuteAsync(query.Command, null, result => query.Apply(result, vm, sentAt), token), cancellationToken);

    /// <summary>
    /// The same, each query answered by <paramref name="execute"/> (given the <see cref="VmContext.EventSequence"/> it
    /// was sent at): for a VM whose state comes from elsewhere than its monitor (libvirt's API).
    /// </summary>
    public async Task RunDueAsync(Func<IStateQuery, long, CancellationToken, Task> execute, CancellationToken cancellationToken)
    {
        var requested = vm.TakeRequests();
        for (var i = 0; i < EventMappings.Queries.Count; i++)
        {
            var query = EventMappings.Queries[i];
            if (requested.HasFlag(query.Query) || IsDue(query, lastRun[i]))
            {
                lastRun[i] = Time.GetUtcNow();
                await RunAsync(execute, i, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Time until the next poll or the next mapping timer; null for nothing scheduled.</summary>
    public TimeSpan? NextWake()
    {
        var now = Time.GetUtcNow();
        var next = EventMappings.Due(vm, now, polling);
        for (var i = 0; i < lastRun.Length; i++)
        {
            if (lastRun[i] is { } last && EventMappings.Queries[i].PollInterval(vm, polling) is { } interval && (next is null || last + interval < next))
            {
                next = last + interval;
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
                Log.QueryFailed(logger, vm.Name, e.Message);
            }
        }
    }

    private bool IsDue(IStateQuery query, DateTimeOffset? last) =>
        last is { } at && query.PollInterval(vm, polling) is { } interval && Time.GetUtcNow() - at >= interval;
}
