using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Tracing;

namespace QmpExporter.Benchmarks;

/// <summary>
/// Exact bookkeeping of what <see cref="ArrayPool{T}.Shared"/> (byte and char) holds, from the pool's own event
/// stream (<c>System.Buffers.ArrayPoolEventSource</c>, delivered synchronously on the renting or returning thread).
/// A returned array enters the pool (its thread's slot or a per-core partition); a rent served from the pool, a
/// dropped array (pool full) or a trimmed one leaves it. Counted per bucket size, so the pool's habit of naming the
/// returned array in a drop event (it really drops the one it displaced from the thread slot, of the same size)
/// does not matter. The managed heap after a full GC minus this is what the exporter itself keeps.
/// With <c>--pool-stacks 1</c> it also records, for every array of 64 KB or more that the pool had to allocate, the
/// stack that rented it, grouped by the first frames outside the pool.
/// Create it first thing in the process: arrays pooled before it are not seen.
/// </summary>
internal sealed class PoolAccounting : EventListener
{
    private const int NoBucketId = -1;
    private const int StackMinBytes = 64 * 1024;

    private static readonly int BytePoolId = ArrayPool<byte>.Shared.GetHashCode();
    private static readonly int CharPoolId = ArrayPool<char>.Shared.GetHashCode();

    private readonly bool captureStacks;
    private readonly ConcurrentDictionary<(int Pool, int Size), long> pooled = new();
    private readonly ConcurrentDictionary<string, (long Count, long Bytes)> allocatedBy = new(StringComparer.Ordinal);
    private long allocated;
    private long dropped;
    private long trimmed;
    private volatile bool stacks;

    public PoolAccounting(bool captureStacks)
    {
        this.captureStacks = captureStacks;
        stacks = captureStacks;
    }

    /// <summary>Bytes that ArrayPool&lt;byte&gt;.Shared and ArrayPool&lt;char&gt;.Shared hold right now, with the detail by array size.</summary>
    public (long Bytes, string Detail) Held()
    {
        long total = 0;
        var parts = new List<string>();
        foreach (var ((pool, size), count) in pooled.OrderByDescending(kv => kv.Value * kv.Key.Size))
        {
            if (count == 0)
            {
                continue;
            }

            var element = pool == CharPoolId ? 2 : 1;
            total += count * size * element;
            parts.Add($"{count}x{Kb(size * element)}{(pool == CharPoolId ? " char" : "")}");
        }

        return (total, string.Join(" ", parts));
    }

    /// <summary>Arrays the pools allocated, dropped (full) and trimmed so far.</summary>
    public (long Allocated, long Dropped, long Trimmed) Traffic => (Interlocked.Read(ref allocated), Interlocked.Read(ref dropped), Interlocked.Read(ref trimmed));

    /// <summary>Renters of the pool's new arrays of 64 KB or more, by stack, most bytes first.</summary>
    public IEnumerable<(string Stack, long Count, long Bytes)> TopAllocators(int count) =>
        allocatedBy.OrderByDescending(kv => kv.Value.Bytes).Take(count).Select(kv => (kv.Key, kv.Value.Count, kv.Value.Bytes));

    /// <summary>Stops recording stacks (the bookkeeping goes on).</summary>
    public void StopStacks() => stacks = false;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "System.Buffers.ArrayPoolEventSource")
        {
            EnableEvents(eventSource, EventLevel.Verbose, EventKeywords.All);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        // Payloads: BufferRented(bufferId, bufferSize, poolId, bucketId), BufferAllocated(bufferId, bufferSize, poolId,
        // bucketId, reason), BufferReturned(bufferId, bufferSize, poolId), BufferTrimmed(bufferId, bufferSize, poolId),
        // BufferDropped(bufferId, bufferSize, poolId, bucketId, reason).
        if (e.Payload is not { Count: >= 3 } p || p[1] is not int size || p[2] is not int pool || (pool != BytePoolId && pool != CharPoolId))
        {
            return;
        }

        switch (e.EventName)
        {
            case "BufferRented" when p[3] is int bucket && bucket != NoBucketId:
                pooled.AddOrUpdate((pool, size), -1, (_, n) => n - 1);
                break;
            case "BufferReturned":
                pooled.AddOrUpdate((pool, size), 1, (_, n) => n + 1);
                break;
            case "BufferDropped" when p[3] is int bucket && bucket != NoBucketId:
                pooled.AddOrUpdate((pool, size), -1, (_, n) => n - 1);
                Interlocked.Increment(ref dropped);
                break;
            case "BufferTrimmed":
                pooled.AddOrUpdate((pool, size), -1, (_, n) => n - 1);
                Interlocked.Increment(ref trimmed);
                break;
            case "BufferAllocated":
                Interlocked.Increment(ref allocated);
                var bytes = (long)size * (pool == CharPoolId ? 2 : 1);
                if (stacks && captureStacks && bytes >= StackMinBytes)
                {
                    var key = $"{Kb(bytes)} {(pool == CharPoolId ? "char" : "byte")} <- {Renter()}";
                    allocatedBy.AddOrUpdate(key, (1, bytes), (_, v) => (v.Count + 1, v.Bytes + bytes));
                }

                break;
        }
    }

    private static string Kb(long bytes) => bytes >= 1048576 ? $"{bytes / 1048576.0:0.#} MB" : $"{bytes / 1024} KB";

    /// <summary>The first frames outside the pool, the event machinery and this listener.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Diagnostics only (--pool-stacks): a frame without metadata is skipped.")]
    private static string Renter()
    {
        var frames = new StackTrace(2, false).GetFrames();
        var names = new List<string>();
        foreach (var frame in frames)
        {
            var method = frame.GetMethod();
            var type = method?.DeclaringType;
            var ns = type?.Namespace ?? "";
            if (method is null || type == typeof(PoolAccounting) || ns.StartsWith("System.Diagnostics.Tracing", StringComparison.Ordinal) ||
                (ns == "System.Buffers" && type!.Name.Contains("ArrayPool", StringComparison.Ordinal)) || type!.Name.StartsWith("SharedArrayPool", StringComparison.Ordinal))
            {
                continue;
            }

            var name = type.DeclaringType is { } outer && type.Name.StartsWith('<') ? $"{outer.Name}.{type.Name}" : type.Name;
            names.Add($"{name}.{method.Name}");
            if (names.Count == 6)
            {
                break;
            }
        }

        return string.Join(" < ", names);
    }
}
