using System.Globalization;
using System.Text;
using System.Text.Json;
using CsCheck;
using QmpExporter.Mappings;
using QmpExporter.Qmp;

namespace QmpExporter.Tests.Qmp;

/// <summary>
/// The read loop's fast path (QEMU's fixed event serialisation, data indexed in one pass) against the general
/// <see cref="Utf8JsonReader"/> reader and member scanning: on every line, the same message or the same rejection, and
/// every member of the data read the same way through the index as by scanning.
/// </summary>
public sealed class QmpFastPathAgreementTests
{
    private const long Iterations = 10_000;

    private static readonly string[] EventNames = ["BLOCK_IO_ERROR", "JOB_STATUS_CHANGE", "STOP", "RESET", "MIGRATION_PASS", "DUMP_COMPLETED", "X", "block_io-error9"];

    private static readonly string[] MemberNames =
        ["device", "node-name", "id", "status", "offset", "len", "speed", "type", "error", "action", "nospace", "reason", "pass", "result", "tray-open", "a", ""];

    /// <summary>Member names as written in JSON: plain, and some spelled with escapes (which the index leaves to scanning).</summary>
    private static readonly Gen<string> MemberName = Gen.Frequency(
        (12, Gen.OneOf(MemberNames)),
        (1, Gen.OneOf("\\u0064evice", "de\\\"vice", "n\\/a", "caf\u00e9")));

    private static readonly Gen<string> Number = Gen.Frequency(
        (4, Gen.Long.Select(n => n.ToString(CultureInfo.InvariantCulture))),
        (2, Gen.Int[0, 1_000_000].Select(n => n.ToString(CultureInfo.InvariantCulture))),
        (3, Gen.OneOf(
            "0", "-0", "1", "-1", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
            "18446744073709551616", "123456789012345678901234567890", "1.5", "1.0", "1e5", "1E+2", "-2e-3", "0.0", "1e400")));

    private static readonly Gen<string> JsonString = Gen.Frequency(
        (6, Gen.OneOf("\"drive0\"", "\"\"", "\"running\"", "\"job-stream\"", "\"Input/output error\"", "\"#block123\"")),
        (3, Gen.String[Gen.Char["abcXYZ09_- #/"], 0, 12].Select(s => $"\"{s}\"")),
        (2, Gen.OneOf("\"a\\\"b\"", "\"\\u00e9t\\u00e9\"", "\"caf\u00e9\"", "\"\\ud800\"", "\"tab\\there\"", "\"\\u0000\"", "\"\\/\"")));

    private static readonly Gen<string> Separator = Gen.Frequency((8, Gen.Const(", ")), (1, Gen.OneOf(",", " ,", ",\t", " , ")));

    private static readonly Gen<string> Colon = Gen.Frequency((8, Gen.Const(": ")), (1, Gen.OneOf(":", " :", ":  ")));

    private static readonly Gen<string> DataObject = ObjectOf(depth: 2);

    /// <summary>Timestamps: mostly QEMU's, sometimes what QEMU never writes (leading zeros, signs, huge, fractions).</summary>
    private static readonly Gen<string> TimestampNumber = Gen.Frequency(
        (8, Gen.Long[0, 4_000_000_000].Select(n => n.ToString(CultureInfo.InvariantCulture))),
        (2, Number),
        (1, Gen.OneOf("007", "00", "999999999999999999", "1000000000000000000", "99999999999999999999")));

    /// <summary>Microseconds: mostly QEMU's (below a million), sometimes what QEMU never writes, out of range included.</summary>
    private static readonly Gen<string> MicrosecondsNumber = Gen.Frequency(
        (8, Gen.Long[0, 999_999].Select(n => n.ToString(CultureInfo.InvariantCulture))),
        (3, TimestampNumber));

    private static readonly Gen<string> EventName = Gen.Frequency(
        (8, Gen.OneOf(EventNames)),
        (2, Gen.String[Gen.Char["ABCZ_09-a"], 0, 70]),
        (1, Gen.OneOf("STO\\u0050", "\u00c9V\u00c9NEMENT", "A B", "A\\\"B")));

    /// <summary>Lines in QEMU's exact serialisation.</summary>
    private static readonly Gen<string> QemuLine = Gen.Select(TimestampNumber, MicrosecondsNumber, EventName, Gen.Frequency((5, DataObject.Select(d => (string?)d)), (1, Gen.Const((string?)null))))
        .Select((seconds, micros, name, data) => data is null
            ? $"{{\"timestamp\": {{\"seconds\": {seconds}, \"microseconds\": {micros}}}, \"event\": \"{name}\"}}"
            : $"{{\"timestamp\": {{\"seconds\": {seconds}, \"microseconds\": {micros}}}, \"event\": \"{name}\", \"data\": {data}}}");

    /// <summary>Lines in other shapes QMP allows or that only look alike: other order, spacing, members, duplicates, non-object data.</summary>
    private static readonly Gen<string> OtherLine = Gen.Select(TimestampNumber, MicrosecondsNumber, EventName, DataObject, Gen.Int[0, 9])
        .Select((seconds, micros, name, data, shape) => shape switch
        {
            0 => $"{{\"event\": \"{name}\", \"data\": {data}, \"timestamp\": {{\"seconds\": {seconds}, \"microseconds\": {micros}}}}}",
            1 => $"{{\"timestamp\":{{\"seconds\":{seconds},\"microseconds\":{micros}}},\"event\":\"{name}\",\"data\":{data}}}",
            2 => $"{{\"timestamp\": {{\"seconds\": {seconds}, \"microseconds\": {micros}}}, \"event\": \"{name}\", \"data\": {data}}} ",
            3 => $"{{\"timestamp\": {{\"seconds\": {seconds}, \"microseconds\": {micros}}}, \"event\": \"{name}\", \"data\": {data}, \"event\": \"OTHER\"}}",
            4 => $"{{\"timestamp\": {{\"seconds\": {seconds}, \"microseconds\": {micros}}}, \"event\": \"{name}\", \"data\": [{data}]}}",
            5 => $"{{\"timestamp\": {{\"seconds\": {seconds}, \"microseconds\": {micros}}}, \"event\": \"{name}\", \"data\": {data}}}}}",
            6 => $"{{\"timestamp\": {{\"seconds\": {seconds}, \"microseconds\": {micros}}}, \"event\": \"{name}\", \"data\": {data} }}",
            7 => $"{{\"return\": {data}, \"id\": {seconds}}}",
            8 => $"{{\"timestamp\": {{\"seconds\": {seconds}, \"microseconds\": {micros}}}, \"event\": \"{name}\", \"data\": {data}, \"QMP\": {{}}}}",
            _ => $"{{\"timestamp\": {{\"microseconds\": {micros}, \"seconds\": {seconds}}}, \"event\": \"{name}\", \"data\": {data}}}",
        });

    private static readonly byte[] InterestingBytes = "{}[]\":,\\ 0123456789-+.eEtrufalsn\r\t"u8.ToArray().Concat(new byte[] { 0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xE9, 0xFF }).ToArray();

    /// <summary>QEMU's lines with a few bytes deleted, replaced, inserted or cut off.</summary>
    private static readonly Gen<byte[]> MutatedLine = Gen.Select(QemuLine, Gen.Int[1, 3].SelectMany(n => Gen.Select(Gen.Int[0, 3], Gen.Int, Gen.Int[0, InterestingBytes.Length - 1]).Array[n]))
        .Select((line, edits) =>
        {
            var bytes = Encoding.UTF8.GetBytes(line).ToList();
            foreach (var (op, where, what) in edits)
            {
                var at = (int)((uint)where % (uint)bytes.Count);
                switch (op)
                {
                    case 0: bytes.RemoveAt(at); break;
                    case 1: bytes[at] = InterestingBytes[what]; break;
                    case 2: bytes.Insert(at, InterestingBytes[what]); break;
                    default: bytes.RemoveRange(at, bytes.Count - at); break;
                }

                if (bytes.Count == 0)
                {
                    bytes.Add((byte)'{');
                }
            }

            return bytes.ToArray();
        });

    [Fact]
    public void QEMU_shaped_lines_read_the_same_on_the_fast_path_as_with_the_general_reader()
    {
        var fast = 0L;
        QemuLine.Sample(line =>
        {
            if (Agree(Encoding.UTF8.GetBytes(line)))
            {
                Interlocked.Increment(ref fast);
            }
        }, iter: Iterations, threads: 1, print: l => Printable(Encoding.UTF8.GetBytes(l)));

        // Most generated lines are exactly QEMU's: the property would say little if the fast path took none of them.
        Assert.True(fast > Iterations / 3, $"only {fast} of {Iterations} QEMU-shaped lines took the fast path");
    }

    [Fact]
    public void Lines_in_other_shapes_read_the_same_as_with_the_general_reader() =>
        OtherLine.Sample(line => { Agree(Encoding.UTF8.GetBytes(line)); }, iter: Iterations, threads: 1, print: l => Printable(Encoding.UTF8.GetBytes(l)));

    [Fact]
    public void Mutated_lines_are_accepted_or_rejected_alike_and_read_alike() =>
        MutatedLine.Sample(line => { Agree(line); }, iter: Iterations * 2, threads: 1, print: Printable);

    [Theory]
    [InlineData(62, true)]
    [InlineData(63, false)]
    [InlineData(64, false)]
    public void Data_nested_up_to_the_readers_depth_limit_reads_alike(int arrays, bool accepted)
    {
        var line = Encoding.UTF8.GetBytes($"{{\"timestamp\": {{\"seconds\": 1, \"microseconds\": 2}}, \"event\": \"X\", \"data\": {{\"a\": {new string('[', arrays)}{new string(']', arrays)}}}}}");
        Assert.Equal(accepted, Agree(line) || Accepted(line));
    }

    [Fact]
    public void The_fast_path_takes_QEMUs_own_lines()
    {
        var members = new QmpDataMember[QmpEventData.MaxIndexedMembers];
        var line = """{"timestamp": {"seconds": 1795624766, "microseconds": 155936}, "event": "BLOCK_IO_ERROR", "data": {"device": "", "nospace": false, "node-name": "disk1", "reason": "Input/output error", "operation": "read", "action": "stop"}}"""u8;
        Assert.True(QmpMessage.TryParseQemuEvent(line, members, out var message));
        var data = message.EventData(line, members);
        Assert.True(data.IsIndexed);
        Assert.Equal(6, data.MemberCount);
        Assert.Equal("disk1", EventData.Name(data, "node-name"u8));
        Assert.False(EventData.Bool(data, "nospace"u8));
        Assert.Equal((1795624766L, 155936L), (message.Seconds, message.Microseconds));
        Assert.True(QmpMessage.TryParseQemuEvent("""{"timestamp": {"seconds": 1795624766, "microseconds": 155936}, "event": "STOP"}"""u8, members, out message));
        Assert.Equal("STOP", message.EventName);
    }

    private static Gen<string> ObjectOf(int depth) =>
        Gen.Select(Gen.Select(MemberName, Colon, ValueOf(depth), Separator).Array[0, 8], Gen.Bool)
            .Select((members, spaced) =>
            {
                var text = new StringBuilder(spaced ? "{" : "{ ");
                for (var i = 0; i < members.Length; i++)
                {
                    var (name, colon, value, separator) = members[i];
                    text.Append(i > 0 ? separator : "").Append('"').Append(name).Append('"').Append(colon).Append(value);
                }

                return text.Append(spaced ? "}" : " }").ToString();
            });

    private static Gen<string> ValueOf(int depth)
    {
        var scalar = Gen.Frequency((4, JsonString), (3, Number), (1, Gen.OneOf("true", "false", "null")));
        return depth == 0
            ? scalar
            : Gen.Frequency(
                (8, scalar),
                (1, ObjectOf(depth - 1)),
                (1, ValueOf(depth - 1).Array[0, 3].Select(items => "[" + string.Join(", ", items) + "]")));
    }

    /// <summary>The line with control and non-ASCII bytes as \xNN, so that a failing sample prints whole.</summary>
    private static string Printable(byte[] line) =>
        string.Concat(line.Select(b => b is >= 0x20 and < 0x7F ? ((char)b).ToString() : $"\\x{b:X2}"));

    private static bool Accepted(byte[] line)
    {
        try
        {
            QmpMessage.ParseAnyShape(line);
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return false;
        }
    }

    /// <summary>Asserts that both readers agree on <paramref name="line"/>; true when the fast path took it.</summary>
    private static bool Agree(byte[] line)
    {
        var members = new QmpDataMember[QmpEventData.MaxIndexedMembers];
        var tookFastPath = QmpMessage.TryParseQemuEvent(line, members, out _);
        QmpMessage general, production;
        try
        {
            general = QmpMessage.ParseAnyShape(line);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            // What the read loop reports as a malformed line (a timestamp out of range included): the production path must reject it the same way.
            Assert.False(tookFastPath, "the fast path accepted a line the general reader rejects");
            Assert.IsAssignableFrom(e is JsonException ? typeof(JsonException) : e.GetType(), Record.Exception(() => QmpMessage.Parse(line, members)));
            return false;
        }

        production = QmpMessage.Parse(line, members);
        Assert.Equal(general.Kind, production.Kind);
        Assert.Equal(general.EventName, production.EventName);
        Assert.Equal(general.Seconds, production.Seconds);
        Assert.Equal(general.Microseconds, production.Microseconds);
        Assert.Equal(general.Id, production.Id);
        Assert.Equal(general.Data(line).ToArray(), production.Data(line).ToArray());
        if (production.Kind == QmpMessageKind.Event)
        {
            var indexed = production.EventData(line, members);
            foreach (var name in NamesToRead(general.Data(line)))
            {
                Assert.Equal(Reads(new QmpEventData(general.Data(line)), name), Reads(indexed, name));
            }
        }

        return tookFastPath;
    }

    /// <summary>Every member name the data has (unescaped), and some it has not.</summary>
    private static IEnumerable<byte[]> NamesToRead(ReadOnlySpan<byte> data)
    {
        var names = new HashSet<string>(MemberNames, StringComparer.Ordinal) { "absent", "DEVICE" };
        try
        {
            var reader = new Utf8JsonReader(data);
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    names.Add(reader.GetString()!);
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Names that cannot be read as strings: the pool above still covers the rest.
        }

        return names.Select(Encoding.UTF8.GetBytes);
    }

    /// <summary>Everything a mapping can read of one member, with what each read throws, as one comparable text.</summary>
    private static string Reads(QmpEventData data, byte[] name)
    {
        var text = new StringBuilder();
        Append(text, "name", data, name, static (d, n) => EventData.Name(d, n));
        Append(text, "enum", data, name, static (d, n) => EventData.EnumString(d, n));
        Append(text, "text", data, name, static (d, n) => EventData.Text(d, n));
        Append(text, "bool", data, name, static (d, n) => EventData.Bool(d, n)?.ToString());
        Append(text, "long", data, name, static (d, n) => EventData.Long(d, n)?.ToString(CultureInfo.InvariantCulture));
        Append(text, "object", data, name, static (d, n) => Encoding.UTF8.GetString(EventData.Object(d, n)));
        return text.ToString();
    }

    private delegate string? Read(QmpEventData data, ReadOnlySpan<byte> name);

    private static void Append(StringBuilder text, string what, QmpEventData data, byte[] name, Read read)
    {
        string? value;
        try
        {
            value = read(data, name) ?? "(null)";
        }
        catch (Exception e) when (e is InvalidOperationException or JsonException or ArgumentException)
        {
            value = "threw " + e.GetType().Name;
        }

        text.Append(what).Append('=').Append(value).Append(';');
    }
}
