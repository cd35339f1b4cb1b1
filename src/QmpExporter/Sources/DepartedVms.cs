using Microsoft.Extensions.Logging;
using QmpExporter.Mappings;
using QmpExporter.Telemetry;

namespace QmpExporter.Sources;

/// <summary>
/// VMs that left on their own (their QEMU exited, their socket file went away): they lose <c>qmp_up</c> at once, so
/// the disconnect alert, which is meant for VMs that should be there, stays quiet; the rest of their series stay for
/// <c>QmpExporter:DepartedVmGrace</c> (a last scrape sees the final counts), then go. A VM that comes back under the
/// same name within the grace continues its counters.
/// </summary>
internal sealed class DepartedVms(VmRegistry registry, TimeSpan grace, TimeProvider time, ILogger<DepartedVms> logger) : IDisposable
{
    private readonly Dictionary<string, CancellationTokenSource> pending = new(StringComparer.Ordinal);

    public TimeSpan Grace => grace;

    /// <summary>VMs waiting for their release.</summary>
    public int Count
    {
        get
        {
            lock (pending)
            {
                return pending.Count;
            }
        }
    }

    /// <summary>
    /// Marks <paramref name="vm"/> as gone: no <c>qmp_up</c> from now on; after the grace <paramref name="release"/>
    /// runs (stop the source's session, ...) and, when it says the VM is still gone, the VM's series are removed;
    /// unless <see cref="Return"/> came first.
    /// </summary>
    public void Depart(string vm, Func<ValueTask<bool>> release)
    {
        registry.Find(vm)?.Remove(SessionMetrics.Up);
        var cancel = new CancellationTokenSource();
        lock (pending)
        {
            if (pending.Remove(vm, out var earlier))
            {
                earlier.Cancel();
                earlier.Dispose();
            }

            pending.Add(vm, cancel);
        }

        SourceLog.VmDeparted(logger, vm, grace.TotalSeconds);
        _ = ReleaseLaterAsync(vm, cancel, release);
    }

    /// <summary>The VM is back: its release is called off. False when it was not waiting for one.</summary>
    public bool Return(string vm)
    {
        lock (pending)
        {
            if (!pending.Remove(vm, out var cancel))
            {
                return false;
            }

            cancel.Cancel();
            cancel.Dispose();
            return true;
        }
    }

    public void Dispose()
    {
        lock (pending)
        {
            foreach (var cancel in pending.Values)
            {
                cancel.Cancel();
                cancel.Dispose();
            }

            pending.Clear();
        }
    }

    private async Task ReleaseLaterAsync(string vm, CancellationTokenSource cancel, Func<ValueTask<bool>> release)
    {
        try
        {
            await Task.Delay(grace, time, cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        lock (pending)
        {
            // Returned (or departed again) meanwhile: that newer state decides.
            if (!pending.TryGetValue(vm, out var current) || current != cancel)
            {
                return;
            }

            pending.Remove(vm);
        }

        cancel.Dispose();
        try
        {
            if (!await release().ConfigureAwait(false))
            {
                return;
            }
        }
#pragma warning disable CA1031 // A failing release must still let the series go.
        catch (Exception e)
#pragma warning restore CA1031
        {
            SourceLog.ReleaseFailed(logger, vm, e);
        }

        registry.Remove(vm);
        SourceLog.VmReleased(logger, vm);
    }
}
