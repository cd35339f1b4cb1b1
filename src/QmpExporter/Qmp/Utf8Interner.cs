using System.Collections.Concurrent;
using System.Text;

namespace QmpExporter.Qmp;

/// <summary>
/// Shares one string per distinct short UTF-8 value (event names, QAPI enum values) so that reading them off the wire
/// does not allocate. The table is capped: past the cap, values are still returned, just not shared.
/// </summary>
internal sealed class Utf8Interner(int capacity)
{
    private const int MaxInternedLength = 64;

    /// <summary>Event names: QEMU's schema defines well under a hundred.</summary>
    public static readonly Utf8Interner EventNames = new(1024);

    /// <summary>Label values that come from QAPI enums (reasons, actions, statuses, operations, job types).</summary>
    public static readonly Utf8Interner EnumValues = new(4096);

    /// <summary>Device, node and job names. One table for all VMs that never evicts: once full (old job ids), new names are simply not shared.</summary>
    public static readonly Utf8Interner Names = new(65536);

    /// <summary>Slots of <see cref="recent"/>: a power of two.</summary>
    private const int RecentSlots = 256;

    private readonly ConcurrentDictionary<string, string> values = new(StringComparer.Ordinal);

    /// <summary>
    /// Shared values by a hash of their UTF-8 bytes, so that a value seen before costs a byte comparison instead of a
    /// transcoding and a dictionary lookup. A slot, once taken, is never replaced: values that collide take the
    /// dictionary, and the cache never allocates after it has filled.
    /// </summary>
    private readonly Recent?[] recent = new Recent?[RecentSlots];
    private int count;

    public string Intern(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxInternedLength)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        ref var slot = ref recent[Fnv1a(utf8) & (RecentSlots - 1)];
        var seen = Volatile.Read(ref slot);
        if (seen is not null && utf8.SequenceEqual(seen.Utf8))
        {
            return seen.Value;
        }

        var value = InternSlow(utf8, out var shared);
        if (seen is null && shared)
        {
            Interlocked.CompareExchange(ref slot, new Recent(utf8.ToArray(), value), null);
        }

        return value;
    }

    private static uint Fnv1a(ReadOnlySpan<byte> utf8)
    {
        var hash = 2166136261;
        foreach (var b in utf8)
        {
            hash = (hash ^ b) * 16777619;
        }

        return hash;
    }

    private string InternSlow(ReadOnlySpan<byte> utf8, out bool shared)
    {
        shared = false;
        Span<char> chars = stackalloc char[MaxInternedLength];
        var text = chars[..Encoding.UTF8.GetChars(utf8, chars)];
        if (values.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text, out var known))
        {
            shared = true;
            return known;
        }

        var added = text.ToString();
        if (Volatile.Read(ref count) >= capacity)
        {
            return added;
        }

        // ConcurrentDictionary.Count takes every lock: count additions ourselves (a race may overshoot by a few).
        var value = values.GetOrAdd(added, added);
        if (ReferenceEquals(value, added))
        {
            Interlocked.Increment(ref count);
        }

        shared = true;
        return value;
    }

    private sealed record Recent(byte[] Utf8, string Value);
}
