using System.Buffers;
using System.Text;
using QmpExporter.Qmp;

namespace QmpExporter.Tests.Qmp;

/// <summary>Pure tests of the newline framing, over sequences split into segments the way a pipe hands them out.</summary>
public sealed class QmpLineFramerTests
{
    private const int Max = 64;

    [Fact]
    public void A_line_split_one_byte_per_segment_is_reassembled()
    {
        var buffer = Segments("{\"event\": \"STOP\"}\r\n".Select(c => c.ToString()).ToArray());

        Assert.True(QmpLineFramer.TryReadLine(ref buffer, Max, out var line));

        Assert.Equal("{\"event\": \"STOP\"}", Text(line));
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Several_lines_in_one_buffer_come_out_one_by_one_and_a_partial_line_stays()
    {
        var buffer = Segments("{\"a\": 1}\r\n{\"b\": 2}\r\n{\"c\"");

        Assert.Equal(["{\"a\": 1}", "{\"b\": 2}"], ReadAll(ref buffer));
        Assert.Equal("{\"c\"", Text(buffer));
    }

    [Fact]
    public void Lines_across_segment_boundaries_including_a_CRLF_split_between_segments()
    {
        var buffer = Segments("{\"a\"", ": 1}\r", "\n{\"b\": ", "2}\r\n");

        Assert.Equal(["{\"a\": 1}", "{\"b\": 2}"], ReadAll(ref buffer));
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void CRLF_and_LF_endings_are_both_trimmed_and_an_inner_CR_is_kept()
    {
        var buffer = Segments("crlf\r\nlf\ninner\rcr\n");

        Assert.Equal(["crlf", "lf", "inner\rcr"], ReadAll(ref buffer));
    }

    [Fact]
    public void Blank_lines_come_out_empty()
    {
        var buffer = Segments("\r\n", "\n", "x\n");

        Assert.Equal(["", "", "x"], ReadAll(ref buffer));
    }

    [Fact]
    public void No_complete_line_returns_false_and_leaves_the_buffer_alone()
    {
        var buffer = Segments("{\"event\"", ": \"ST");

        Assert.False(QmpLineFramer.TryReadLine(ref buffer, Max, out _));
        Assert.Equal("{\"event\": \"ST", Text(buffer));
    }

    [Fact]
    public void An_incomplete_line_past_the_limit_throws_before_its_newline_arrives()
    {
        // One byte past the limit could still be the CR of a CRLF; two cannot.
        var buffer = Segments(new string('x', Max / 2), new string('x', (Max / 2) + 2));

        var error = Assert.Throws<QmpLineTooLongException>(() => QmpLineFramer.TryReadLine(ref buffer, Max, out _));
        Assert.Equal(QmpProtocolErrorReasons.OversizeLine, error.Reason);
    }

    [Fact]
    public void A_complete_line_past_the_limit_throws()
    {
        var buffer = Segments(new string('x', Max + 1) + "\n");

        Assert.Throws<QmpLineTooLongException>(() => QmpLineFramer.TryReadLine(ref buffer, Max, out _));
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    public void A_line_of_exactly_the_limit_is_accepted_whatever_its_line_ending(string ending)
    {
        // QEMU ends every line with CRLF; the limit is on the line, which the framer returns without its ending.
        var buffer = Segments(new string('x', Max), ending);

        Assert.True(QmpLineFramer.TryReadLine(ref buffer, Max, out var line));
        Assert.Equal(Max, line.Length);
    }

    [Fact]
    public void An_incomplete_line_at_exactly_the_limit_waits_for_more()
    {
        var buffer = Segments(new string('x', Max));

        Assert.False(QmpLineFramer.TryReadLine(ref buffer, Max, out _));
    }

    private static List<string> ReadAll(ref ReadOnlySequence<byte> buffer)
    {
        var lines = new List<string>();
        while (QmpLineFramer.TryReadLine(ref buffer, Max, out var line))
        {
            lines.Add(Text(line));
        }

        return lines;
    }

    private static string Text(in ReadOnlySequence<byte> bytes) => Encoding.UTF8.GetString(bytes.ToArray());

    /// <summary>A sequence with one segment per part, as a <see cref="System.IO.Pipelines.PipeReader"/> may return it.</summary>
    private static ReadOnlySequence<byte> Segments(params string[] parts)
    {
        var first = new Segment(Encoding.UTF8.GetBytes(parts[0]), 0);
        var last = first;
        foreach (var part in parts.Skip(1))
        {
            last = last.Append(Encoding.UTF8.GetBytes(part));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
