using System.Buffers;
using System.IO.Pipelines;
using CsCheck;
using QmpExporter.Qmp;

namespace QmpExporter.Tests.Hardening;

/// <summary>Framing never loses, merges or splits a complete line, however the stream is cut into reads.</summary>
public sealed class FramingPropertyTests
{
    private const int Max = 64;

    private static readonly Gen<byte[]> Line = Gen.Byte.Array[0, Max].Select(bytes => bytes.Select(b => b is (byte)'\n' or (byte)'\r' ? (byte)'x' : b).ToArray());

    [Fact]
    public void Every_complete_line_comes_out_whole_and_in_order_whatever_the_chunking()
    {
        Gen.Select(Line.List[0, 20], Gen.Bool.Array[20], Gen.Int[1, 23].Array[1, 40])
            .Sample((lines, crlf, cuts) =>
            {
                var stream = lines.SelectMany((l, i) => l.Concat(crlf[i] ? "\r\n"u8.ToArray() : "\n"u8.ToArray())).ToArray();
                var read = Frame(stream, cuts);
                Assert.Equal(lines.Select(Convert.ToHexString), read.Select(Convert.ToHexString));
            }, iter: 2000);
    }

    /// <summary>The read loop of a QMP connection over a pipe, fed <paramref name="stream"/> in reads of the given sizes (cycled).</summary>
    private static List<byte[]> Frame(byte[] stream, int[] cuts)
    {
        var pipe = new Pipe();
        var lines = new List<byte[]>();
        long searched = 0;
        for (int offset = 0, i = 0; offset < stream.Length; i++)
        {
            var size = Math.Min(cuts[i % cuts.Length], stream.Length - offset);
            pipe.Writer.Write(stream.AsSpan(offset, size));
            pipe.Writer.FlushAsync().AsTask().GetAwaiter().GetResult();
            offset += size;

            Assert.True(pipe.Reader.TryRead(out var result));
            var buffer = result.Buffer;
            while (QmpLineFramer.TryReadLine(ref buffer, Max, ref searched, out var line))
            {
                lines.Add(line.ToArray());
            }

            pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
        }

        return lines;
    }
}
