using System.Buffers;

namespace QmpExporter.Qmp;

/// <summary>
/// Newline framing of the QMP stream (qmp-spec: one JSON object per line, QEMU ends each with CRLF),
/// with a hard cap on the line length so a peer can never make us buffer without bound.
/// </summary>
internal static class QmpLineFramer
{
    /// <summary>
    /// Takes the next complete line off <paramref name="buffer"/>, without its line ending.
    /// Returns false when the buffer holds no complete line yet.
    /// </summary>
    /// <exception cref="QmpLineTooLongException">The line (complete or not) is longer than <paramref name="maxLineBytes"/>.</exception>
    public static bool TryReadLine(ref ReadOnlySequence<byte> buffer, int maxLineBytes, out ReadOnlySequence<byte> line)
    {
        long searched = 0;
        return TryReadLine(ref buffer, maxLineBytes, ref searched, out line);
    }

    /// <summary>
    /// As above, for a read loop: <paramref name="searched"/> carries how many bytes of an incomplete line were
    /// already searched for its newline, so a long line that trickles in is not searched again from its start on
    /// every read (which would cost time quadratic in its length).
    /// </summary>
    public static bool TryReadLine(ref ReadOnlySequence<byte> buffer, int maxLineBytes, ref long searched, out ReadOnlySequence<byte> line)
    {
        var newline = buffer.Slice(Math.Min(searched, buffer.Length)).PositionOf((byte)'\n');
        if (newline is null)
        {
            // The limit is on the line itself; a CR that may still be followed by its LF does not count.
            if (buffer.Length > maxLineBytes + 1)
            {
                throw new QmpLineTooLongException(maxLineBytes);
            }

            searched = buffer.Length;
            line = default;
            return false;
        }

        searched = 0;
        line = buffer.Slice(0, newline.Value);
        buffer = buffer.Slice(buffer.GetPosition(1, newline.Value));
        if (!line.IsEmpty && EndsWithCarriageReturn(line))
        {
            line = line.Slice(0, line.Length - 1);
        }

        if (line.Length > maxLineBytes)
        {
            throw new QmpLineTooLongException(maxLineBytes);
        }

        return true;
    }

    private static bool EndsWithCarriageReturn(in ReadOnlySequence<byte> line) =>
        line.IsSingleSegment ? line.FirstSpan[^1] == (byte)'\r' : line.Slice(line.Length - 1).FirstSpan[0] == (byte)'\r';
}
