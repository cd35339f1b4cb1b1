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

    /// <summary>Device, node and job names: bounded per VM by the series cap, so sharing them saves allocations.</summary>
    public static readonly Utf8Interner Names = new(65536);

    private readonly ConcurrentDictionary<string, string> values = new(StringComparer.Ordinal);

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
        return values.Count < capacity ? values.GetOrAdd(added, added) : added;
    }
}
