using System.Text.Json;

namespace QmpExporter.Qmp;

internal enum QmpMessageKind
{
    Unknown,
    Greeting,
    Reply,
    Event,
}

/// <summary>
/// What one QMP line is, found by a single <see cref="Utf8JsonReader"/> pass over its top-level members
/// (qmp-spec 2.2 greeting, 2.4 reply with <c>return</c> or <c>error</c>, 2.5 event). Member order is not relied on.
/// </summary>
internal readonly struct QmpMessage
{
    private readonly int dataStart;
    private readonly int dataLength;

    private QmpMessage(QmpMessageKind kind, string? eventName, long seconds, long microseconds, long? id, int dataStart, int dataLength)
    {
        Kind = kind;
        EventName = eventName;
        Seconds = seconds;
        Microseconds = microseconds;
        Id = id;
        this.dataStart = dataStart;
        this.dataLength = dataLength;
    }

    public QmpMessageKind Kind { get; }

    public string? EventName { get; }

    public long Seconds { get; }

    public long Microseconds { get; }

    /// <summary>The reply's id when it is an integer, the only kind of id this client sends.</summary>
    public long? Id { get; }

    public ReadOnlySpan<byte> Data(ReadOnlySpan<byte> line) => line.Slice(dataStart, dataLength);

    /// <exception cref="JsonException">The line is not a JSON object.</exception>
    public static QmpMessage Parse(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("a QMP message must be a JSON object");
        }

        string? eventName = null;
        long seconds = 0, microseconds = 0;
        long? id = null;
        int dataStart = 0, dataLength = 0;
        var kind = QmpMessageKind.Unknown;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("event"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    throw new JsonException("\"event\" must be a string");
                }

                eventName = reader.ValueIsEscaped ? reader.GetString()! : Utf8Interner.EventNames.Intern(reader.ValueSpan);
                kind = QmpMessageKind.Event;
            }
            else if (reader.ValueTextEquals("timestamp"u8))
            {
                reader.Read();
                ReadTimestamp(ref reader, out seconds, out microseconds);
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                dataStart = (int)reader.TokenStartIndex;
                reader.Skip();
                dataLength = (int)reader.BytesConsumed - dataStart;
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value))
                {
                    id = value;
                }
                else
                {
                    reader.Skip();
                }
            }
            else
            {
                if (reader.ValueTextEquals("return"u8) || reader.ValueTextEquals("error"u8))
                {
                    kind = QmpMessageKind.Reply;
                }
                else if (reader.ValueTextEquals("QMP"u8))
                {
                    kind = QmpMessageKind.Greeting;
                }

                reader.Read();
                reader.Skip();
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            throw new JsonException("trailing data after the QMP message");
        }

        return new QmpMessage(kind, eventName, seconds, microseconds, id, dataStart, dataLength);
    }

    /// <summary>The greeting's version and capabilities (qmp-spec 2.2).</summary>
    public static QmpGreeting ParseGreeting(ReadOnlySpan<byte> line)
    {
        var root = ParseElement(line);
        var qmp = root.GetProperty("QMP");
        var version = qmp.TryGetProperty("version", out var v) ? v : default;
        var qemu = version.ValueKind == JsonValueKind.Object && version.TryGetProperty("qemu", out var q) ? q : default;
        var text = qemu.ValueKind == JsonValueKind.Object
            ? $"{Number(qemu, "major")}.{Number(qemu, "minor")}.{Number(qemu, "micro")}"
            : "unknown";
        var package = version.ValueKind == JsonValueKind.Object && version.TryGetProperty("package", out var p) && p.ValueKind == JsonValueKind.String
            ? p.GetString()!.Trim()
            : "";
        var capabilities = qmp.TryGetProperty("capabilities", out var caps) && caps.ValueKind == JsonValueKind.Array
            ? caps.EnumerateArray().Where(c => c.ValueKind == JsonValueKind.String).Select(c => c.GetString()!).ToArray()
            : [];
        return new QmpGreeting(text, package, capabilities);
    }

    public static bool TryReadError(ReadOnlySpan<byte> line, out string errorClass, out string description)
    {
        var root = ParseElement(line);
        if (root.TryGetProperty("error", out var error))
        {
            var isObject = error.ValueKind == JsonValueKind.Object;
            errorClass = isObject && error.TryGetProperty("class", out var c) ? c.ToString() : "unknown";
            description = isObject && error.TryGetProperty("desc", out var d) ? d.ToString() : error.ToString();
            return true;
        }

        errorClass = description = "";
        return false;
    }

    public static JsonElement ReadReturn(ReadOnlySpan<byte> line) =>
        ParseElement(line).TryGetProperty("return", out var value) ? value : default;

    private static JsonElement ParseElement(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line);
        return JsonElement.ParseValue(ref reader);
    }

    private static string Number(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetRawText() : "0";

    private static void ReadTimestamp(ref Utf8JsonReader reader, out long seconds, out long microseconds)
    {
        seconds = microseconds = 0;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isSeconds = reader.ValueTextEquals("seconds"u8);
            var isMicroseconds = !isSeconds && reader.ValueTextEquals("microseconds"u8);
            reader.Read();
            if (reader.TokenType == JsonTokenType.Number && (isSeconds || isMicroseconds) && reader.TryGetInt64(out var value))
            {
                if (isSeconds)
                {
                    seconds = value;
                }
                else
                {
                    microseconds = value;
                }
            }
            else
            {
                reader.Skip();
            }
        }
    }
}
