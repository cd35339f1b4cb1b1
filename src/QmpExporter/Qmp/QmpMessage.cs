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
/// What one QMP line is (qmp-spec 2.2 greeting, 2.4 reply with <c>return</c> or <c>error</c>, 2.5 event). Events in
/// QEMU's own serialisation take a single pass over fixed bytes (<see cref="TryParseQemuEvent"/>); every other line
/// takes a single <see cref="Utf8JsonReader"/> pass over its top-level members, which does not rely on member order.
/// Both give the same result for every line the first accepts.
/// </summary>
internal readonly struct QmpMessage
{
    private readonly int dataStart;
    private readonly int dataLength;

    /// <summary>How many data members the fast path indexed into the caller's buffer; -1 when it did not index them.</summary>
    private readonly int indexedMembers;

    private QmpMessage(QmpMessageKind kind, string? eventName, long seconds, long microseconds, long? id, int dataStart, int dataLength, int indexedMembers = -1)
    {
        Kind = kind;
        EventName = eventName;
        Seconds = seconds;
        Microseconds = microseconds;
        Id = id;
        this.dataStart = dataStart;
        this.dataLength = dataLength;
        this.indexedMembers = indexedMembers;
    }

    public QmpMessageKind Kind { get; }

    public string? EventName { get; }

    public long Seconds { get; }

    public long Microseconds { get; }

    /// <summary>The reply's id when it is an integer, the only kind of id this client sends.</summary>
    public long? Id { get; }

    public ReadOnlySpan<byte> Data(ReadOnlySpan<byte> line) => line.Slice(dataStart, dataLength);

    /// <summary>
    /// The event's data with its members indexed in <paramref name="members"/>, the buffer given to
    /// <see cref="Parse(ReadOnlySpan{byte}, Span{QmpDataMember})"/> (indexed there, or now for a line in another shape).
    /// </summary>
    public QmpEventData EventData(ReadOnlySpan<byte> line, Span<QmpDataMember> members) =>
        indexedMembers >= 0 ? new QmpEventData(Data(line), members[..indexedMembers]) : QmpEventData.IndexValidated(Data(line), members);

    /// <exception cref="JsonException">The line is not a JSON object.</exception>
    public static QmpMessage Parse(ReadOnlySpan<byte> line) => Parse(line, []);

    /// <summary>As <see cref="Parse(ReadOnlySpan{byte})"/>; an event's data members are indexed into <paramref name="members"/> on the way.</summary>
    /// <exception cref="JsonException">The line is not a JSON object.</exception>
    public static QmpMessage Parse(ReadOnlySpan<byte> line, Span<QmpDataMember> members) =>
        TryParseQemuEvent(line, members, out var message) ? message : ParseAnyShape(line);

    /// <summary>
    /// An event exactly as QEMU serialises it (qobject's JSON writer: fixed member order, ", " and ": " spacing):
    /// <c>{"timestamp": {"seconds": S, "microseconds": U}, "event": "NAME"}</c>, or with <c>, "data": {...}</c> before
    /// the closing brace. False for anything else (a timestamp out of range, other spacing, signs, leading zeros, more than 18 digits, a name
    /// beyond [A-Za-z0-9_-], data not an object or not valid JSON): such a line is read by <see cref="ParseAnyShape"/>,
    /// which accepts or rejects it. The data object is validated and indexed in one <see cref="Utf8JsonReader"/> pass.
    /// </summary>
    public static bool TryParseQemuEvent(ReadOnlySpan<byte> line, Span<QmpDataMember> members, out QmpMessage message)
    {
        message = default;
        var at = 0;
        if (!Literal(line, ref at, "{\"timestamp\": {\"seconds\": "u8)
            || !Digits(line, ref at, out var seconds)
            || seconds > MaxTimestampSeconds
            || !Literal(line, ref at, ", \"microseconds\": "u8)
            || !Digits(line, ref at, out var microseconds)
            || microseconds > 999_999
            || !Literal(line, ref at, "}, \"event\": \""u8))
        {
            return false;
        }

        var nameStart = at;
        while (at < line.Length && IsNameByte(line[at]))
        {
            at++;
        }

        var name = line[nameStart..at];
        if (name.IsEmpty || name.Length > MaxFastEventName || !Literal(line, ref at, "\""u8))
        {
            return false;
        }

        if (at == line.Length - 1 && line[at] == (byte)'}')
        {
            message = new QmpMessage(QmpMessageKind.Event, Utf8Interner.EventNames.Intern(name), seconds, microseconds, null, 0, 0, 0);
            return true;
        }

        if (!Literal(line, ref at, ", \"data\": "u8) || line[^1] != (byte)'}')
        {
            return false;
        }

        try
        {
            if (!QmpEventData.TryReadObject(line[at..^1], members, out var data))
            {
                return false;
            }

            message = new QmpMessage(QmpMessageKind.Event, Utf8Interner.EventNames.Intern(name), seconds, microseconds, null, at, line.Length - 1 - at, data.IsIndexed ? data.MemberCount : -1);
            return true;
        }
        catch (JsonException)
        {
            // Not valid JSON: the general reader says why.
            return false;
        }
    }

    /// <summary>Any top-level member order and spacing, in one <see cref="Utf8JsonReader"/> pass.</summary>
    /// <exception cref="JsonException">The line is not a JSON object.</exception>
    public static QmpMessage ParseAnyShape(ReadOnlySpan<byte> line)
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

    /// <summary>QEMU's event names are upper-case identifiers well under this; longer ones take the general reader.</summary>
    private const int MaxFastEventName = 64;

    /// <summary>18 decimal digits always fit a long: longer numbers take the general reader.</summary>
    private const int MaxFastDigits = 18;

    private static bool Literal(ReadOnlySpan<byte> line, ref int at, ReadOnlySpan<byte> expected)
    {
        if (!line[at..].StartsWith(expected))
        {
            return false;
        }

        at += expected.Length;
        return true;
    }

    /// <summary>A non-negative JSON integer without leading zeros and of at most <see cref="MaxFastDigits"/> digits.</summary>
    private static bool Digits(ReadOnlySpan<byte> line, ref int at, out long value)
    {
        value = 0;
        var start = at;
        while (at < line.Length && (uint)(line[at] - '0') <= 9)
        {
            if (at - start < MaxFastDigits)
            {
                value = (value * 10) + (line[at] - '0');
            }

            at++;
        }

        var length = at - start;
        return length is > 0 and <= MaxFastDigits && (line[start] != '0' || length == 1);
    }

    private static bool IsNameByte(byte b) => (uint)((b | 0x20) - 'a') <= 'z' - 'a' || (uint)(b - '0') <= 9 || b is (byte)'_' or (byte)'-';

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
            if (!isSeconds && !isMicroseconds)
            {
                reader.Skip();
                continue;
            }

            // Checked here, before any mapping sees the event, so an event is applied whole or not at all.
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value)
                || value < 0 || value > (isSeconds ? MaxTimestampSeconds : 999_999))
            {
                throw new FormatException($"event timestamp {(isSeconds ? "seconds" : "microseconds")} out of range");
            }

            if (isSeconds)
            {
                seconds = value;
            }
            else
            {
                microseconds = value;
            }
        }
    }

    /// <summary>The end of year 9999, the last second a <see cref="DateTimeOffset"/> holds.</summary>
    private const long MaxTimestampSeconds = 253_402_300_799;
}
