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

    private readonly ConcurrentDictionary<string, string> values = new(StringComparer.Ordinal);
    private int count;

    public string Intern(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxInternedLength)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        Span<char> chars = stackalloc char[MaxInternedLength];
        var text = chars[..Encoding.UTF8.GetChars(utf8, chars)];
        if (values.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text, out var known))
        {
            return known;
        }

        var added = text.ToString();
        if (Volatile.Read(ref count) >= capacity)
        {
            return added;
        }

        // ConcurrentDictionary.Count takes every lock: count additions ourselves (a race may overshoot by a few).
        var shared = values.GetOrAdd(added, added);
        if (ReferenceEquals(shared, added))
        {
            Interlocked.Increment(ref count);
        }

        return shared;
    }
}
