using System.Text.Json;
using QmpExporter.Qmp;

namespace QmpExporter.Mappings;

/// <summary>Reads top-level members of an event's <c>data</c> object straight from its UTF-8 bytes.</summary>
internal static class EventData
{
    /// <summary>A string member interned as an enum value (QAPI enums are small, bounded sets), or null when absent.</summary>
    public static string? EnumString(ReadOnlySpan<byte> data, ReadOnlySpan<byte> member)
    {
        var reader = new Utf8JsonReader(data);
        return Find(ref reader, member) && reader.TokenType == JsonTokenType.String
            ? (reader.ValueIsEscaped ? reader.GetString() : Utf8Interner.EnumValues.Intern(reader.ValueSpan))
            : null;
    }

    public static bool? Bool(ReadOnlySpan<byte> data, ReadOnlySpan<byte> member)
    {
        var reader = new Utf8JsonReader(data);
        return Find(ref reader, member) && reader.TokenType is JsonTokenType.True or JsonTokenType.False ? reader.GetBoolean() : null;
    }

    /// <summary>"true", "false" or "" for a boolean label whose member may be missing.</summary>
    public static string BoolLabel(bool? value) => value switch
    {
        true => "true",
        false => "false",
        null => "",
    };

    private static bool Find(ref Utf8JsonReader reader, ReadOnlySpan<byte> member)
    {
        if (reader.BytesConsumed != 0 || !reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        try
        {
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
