using System.Text.Json;

namespace QmpExporter.Qmp;

/// <summary>Where one member of an event's <c>data</c> object sits in its JSON: offsets into <see cref="QmpEventData.Json"/>.</summary>
internal readonly record struct QmpDataMember(int NameStart, int NameLength, int ValueStart, int ValueLength, JsonTokenType Kind, bool ValueIsEscaped);

/// <summary>
/// An event's <c>data</c> object: its raw JSON and, when the read loop indexed it, where each top-level member is, so
/// that a mapping reading five members does not scan the object five times. An object whose member names use JSON
/// escapes, or that has more members than the index holds, is not indexed; its members are then found by scanning.
/// </summary>
internal readonly ref struct QmpEventData
{
    /// <summary>Members the read loop indexes per event: QEMU's events have at most nine.</summary>
    public const int MaxIndexedMembers = 16;

    /// <summary>The data object sits one level inside the message: its depth limit is one less than the line's (the reader's default, 64).</summary>
    private static readonly JsonReaderOptions DataReaderOptions = new() { MaxDepth = 63 };

    private readonly ReadOnlySpan<QmpDataMember> members;

    /// <summary>Data found by scanning only: no index.</summary>
    public QmpEventData(ReadOnlySpan<byte> json)
    {
        Json = json;
        IsIndexed = json.IsEmpty;
    }

    /// <summary>Data with its members indexed (all of them: a member not in <paramref name="members"/> is not in the object).</summary>
    public QmpEventData(ReadOnlySpan<byte> json, ReadOnlySpan<QmpDataMember> members)
    {
        Json = json;
        this.members = members;
        IsIndexed = true;
    }

    /// <summary>The raw UTF-8 JSON of <c>data</c>; empty when the event has none.</summary>
    public ReadOnlySpan<byte> Json { get; }

    /// <summary>True when <see cref="TryGetMember"/> answers (an event without data has no members).</summary>
    public bool IsIndexed { get; }

    public int MemberCount => members.Length;

    public static implicit operator ReadOnlySpan<byte>(QmpEventData data) => data.Json;

    /// <summary>The first member named <paramref name="name"/> (as a scan would find it). Only for an indexed object.</summary>
    public bool TryGetMember(ReadOnlySpan<byte> name, out QmpDataMember member)
    {
        foreach (var candidate in members)
        {
            if (Json.Slice(candidate.NameStart, candidate.NameLength).SequenceEqual(name))
            {
                member = candidate;
                return true;
            }
        }

        member = default;
        return false;
    }

    /// <summary>Indexes data that is already known to be valid JSON (the whole line was read); anything odd leaves it unindexed.</summary>
    public static QmpEventData IndexValidated(ReadOnlySpan<byte> json, Span<QmpDataMember> buffer)
    {
        try
        {
            return TryReadObject(json, buffer, out var data) ? data : new QmpEventData(json);
        }
        catch (JsonException)
        {
            return new QmpEventData(json);
        }
    }

    /// <summary>
    /// Validates <paramref name="json"/> as exactly one JSON object (no surrounding whitespace) and indexes its
    /// members in the same pass. False when it is anything else.
    /// </summary>
    /// <exception cref="JsonException">It is not valid JSON.</exception>
    public static bool TryReadObject(ReadOnlySpan<byte> json, Span<QmpDataMember> buffer, out QmpEventData data)
    {
        data = default;
        var reader = new Utf8JsonReader(json, DataReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject || reader.TokenStartIndex != 0)
        {
            return false;
        }

        var count = 0;
        var indexable = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var nameStart = (int)reader.TokenStartIndex + 1;
            var nameLength = reader.ValueSpan.Length;
            indexable &= !reader.ValueIsEscaped && count < buffer.Length;
            reader.Read();
            var valueStart = (int)reader.TokenStartIndex;
            var kind = reader.TokenType;
            var escaped = reader.ValueIsEscaped;
            reader.Skip();
            if (indexable)
            {
                buffer[count++] = new QmpDataMember(nameStart, nameLength, valueStart, (int)reader.BytesConsumed - valueStart, kind, escaped);
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.CurrentDepth != 0 || reader.BytesConsumed != json.Length)
        {
            return false;
        }

        data = indexable ? new QmpEventData(json, buffer[..count]) : new QmpEventData(json);
        return true;
    }
}
