using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using QmpExporter.Qmp;

namespace QmpExporter.Mappings;

/// <summary>
/// Reads members of an event's <c>data</c> object straight from its UTF-8 bytes, and members of query replies.
/// Missing members and members of the wrong type read as null: odd data never throws. An event's data indexed by
/// the read loop (<see cref="QmpEventData"/>) is read through its index; the same calls on raw JSON scan it, with the
/// same results.
/// </summary>
internal static class EventData
{
    /// <summary>A string member from a QAPI enum (reasons, actions, statuses, operations, job types), or null.</summary>
    public static string? EnumString(QmpEventData data, ReadOnlySpan<byte> member) =>
        data.IsIndexed ? String(data, member, Utf8Interner.EnumValues) : EnumString(data.Json, member);

    /// <summary>A string member that names something (a device, a node, a job), or null.</summary>
    public static string? Name(QmpEventData data, ReadOnlySpan<byte> member) =>
        data.IsIndexed ? String(data, member, Utf8Interner.Names) : Name(data.Json, member);

    /// <summary>A string member that is free text for people (QEMU's reason and error texts), or null.</summary>
    public static string? Text(QmpEventData data, ReadOnlySpan<byte> member)
    {
        if (!data.IsIndexed)
        {
            return Text(data.Json, member);
        }

        return data.TryGetMember(member, out var found) && found.Kind == JsonTokenType.String ? ValueReader(data, found).GetString() : null;
    }

    public static bool? Bool(QmpEventData data, ReadOnlySpan<byte> member)
    {
        if (!data.IsIndexed)
        {
            return Bool(data.Json, member);
        }

        return data.TryGetMember(member, out var found) && found.Kind is JsonTokenType.True or JsonTokenType.False ? found.Kind == JsonTokenType.True : null;
    }

    public static long? Long(QmpEventData data, ReadOnlySpan<byte> member)
    {
        if (!data.IsIndexed)
        {
            return Long(data.Json, member);
        }

        // What Utf8JsonReader.TryGetInt64 does with a number token: the whole token must parse as an Int64.
        return data.TryGetMember(member, out var found) && found.Kind == JsonTokenType.Number
            && Utf8Parser.TryParse(Value(data, found), out long value, out var consumed) && consumed == found.ValueLength
            ? value
            : null;
    }

    /// <summary>The raw JSON of an object member, e.g. DUMP_COMPLETED's <c>result</c>; empty when absent.</summary>
    public static ReadOnlySpan<byte> Object(QmpEventData data, ReadOnlySpan<byte> member)
    {
        if (!data.IsIndexed)
        {
            return Object(data.Json, member);
        }

        return data.TryGetMember(member, out var found) && found.Kind == JsonTokenType.StartObject ? Value(data, found) : [];
    }

    /// <summary>A string member from a QAPI enum (reasons, actions, statuses, operations, job types), or null.</summary>
    public static string? EnumString(ReadOnlySpan<byte> data, ReadOnlySpan<byte> member) => String(data, member, Utf8Interner.EnumValues);

    /// <summary>A string member that names something (a device, a node, a job), or null.</summary>
    public static string? Name(ReadOnlySpan<byte> data, ReadOnlySpan<byte> member) => String(data, member, Utf8Interner.Names);

    /// <summary>A string member that is free text for people (QEMU's reason and error texts), or null.</summary>
    public static string? Text(ReadOnlySpan<byte> data, ReadOnlySpan<byte> member)
    {
        var reader = new Utf8JsonReader(data);
        return Find(ref reader, member) && reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
    }

    public static bool? Bool(ReadOnlySpan<byte> data, ReadOnlySpan<byte> member)
    {
        var reader = new Utf8JsonReader(data);
        return Find(ref reader, member) && reader.TokenType is JsonTokenType.True or JsonTokenType.False ? reader.GetBoolean() : null;
    }

    public static long? Long(ReadOnlySpan<byte> data, ReadOnlySpan<byte> member)
    {
        var reader = new Utf8JsonReader(data);
        return Find(ref reader, member) && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) ? value : null;
    }

    /// <summary>A count (a non-negative integer) or null when absent; any other number is malformed, never a negative increment.</summary>
    /// <exception cref="FormatException">The member is a number below 0 or past <see cref="long.MaxValue"/>, or a fraction.</exception>
    public static long? Count(ReadOnlySpan<byte> data, ReadOnlySpan<byte> member)
    {
        var reader = new Utf8JsonReader(data);
        if (!Find(ref reader, member) || reader.TokenType != JsonTokenType.Number)
        {
            return null;
        }

        return reader.TryGetInt64(out var value) && value >= 0 ? value : throw new FormatException($"{Encoding.UTF8.GetString(member)} is not a count");
    }

    /// <summary>The raw JSON of an object member, e.g. DUMP_COMPLETED's <c>result</c>; empty when absent.</summary>
    public static ReadOnlySpan<byte> Object(ReadOnlySpan<byte> data, ReadOnlySpan<byte> member)
    {
        var reader = new Utf8JsonReader(data);
        if (!Find(ref reader, member) || reader.TokenType != JsonTokenType.StartObject)
        {
            return [];
        }

        var start = (int)reader.TokenStartIndex;
        reader.Skip();
        return data[start..(int)reader.BytesConsumed];
    }

    /// <summary>"true", "false" or "" for a boolean label whose member may be missing.</summary>
    public static string BoolLabel(bool? value) => value switch
    {
        true => "true",
        false => "false",
        null => "",
    };

    public static string? String(JsonElement element, string member) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(member, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static long? Long(JsonElement element, string member) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(member, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    public static bool? Bool(JsonElement element, string member) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(member, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : null;

    public static IEnumerable<JsonElement> Items(JsonElement array) =>
        array.ValueKind == JsonValueKind.Array ? array.EnumerateArray() : [];

    private static string? String(QmpEventData data, ReadOnlySpan<byte> member, Utf8Interner interner)
    {
        if (!data.TryGetMember(member, out var found) || found.Kind != JsonTokenType.String)
        {
            return null;
        }

        // The token without its quotes is the value as written; only an escaped one needs the reader to unescape it.
        return found.ValueIsEscaped ? ValueReader(data, found).GetString() : interner.Intern(Value(data, found)[1..^1]);
    }

    private static ReadOnlySpan<byte> Value(QmpEventData data, QmpDataMember member) => data.Json.Slice(member.ValueStart, member.ValueLength);

    private static Utf8JsonReader ValueReader(QmpEventData data, QmpDataMember member)
    {
        var reader = new Utf8JsonReader(Value(data, member));
        reader.Read();
        return reader;
    }

    private static string? String(ReadOnlySpan<byte> data, ReadOnlySpan<byte> member, Utf8Interner interner)
    {
        var reader = new Utf8JsonReader(data);
        return Find(ref reader, member) && reader.TokenType == JsonTokenType.String
            ? (reader.ValueIsEscaped ? reader.GetString() : interner.Intern(reader.ValueSpan))
            : null;
    }

    private static bool Find(ref Utf8JsonReader reader, ReadOnlySpan<byte> member)
    {
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var match = reader.ValueTextEquals(member);
                reader.Read();
                if (match)
                {
                    return true;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // The line as a whole was valid JSON; a data object we cannot walk just has no such member.
        }

        return false;
    }
}
