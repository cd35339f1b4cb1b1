using System.Text;
using QmpExporter.Wire;

namespace QmpExporter.Benchmarks;

/// <summary>
/// A pre-rendered block of QMP event lines in QEMU 7.2's exact framing (key order, ", " and ": " spacing, CRLF), a
/// shuffled, realistic mix of the seed's events. A connection's stream is this block read cyclically from an offset,
/// so the sender only copies bytes and the expected count of every event name is known exactly.
/// </summary>
internal sealed class EventMix
{
    public const int DefaultBlockSize = 10_000;

    private readonly byte[] bytes;
    private readonly int[] lineStart;

    private EventMix(byte[] bytes, int[] lineStart, string[] names)
    {
        this.bytes = bytes;
        this.lineStart = lineStart;
        Names = names;
    }

    /// <summary>The block every process (server and exporter side) renders identically.</summary>
    public static EventMix Shared => Holder.Value;

    public int Count => Names.Length;

    /// <summary>The event name of each line of the block.</summary>
    public string[] Names { get; }

    public long BlockBytes => bytes.Length;

    /// <summary>Where the stream of the <paramref name="socketIndex"/>-th socket of a group starts in the block.</summary>
    public int OffsetFor(int socketIndex) => (int)((long)socketIndex * 7919 % Count);

    public ReadOnlyMemory<byte> Line(int index) => bytes.AsMemory(lineStart[index], lineStart[index + 1] - lineStart[index]);

    /// <summary>
    /// The next run of whole lines from <paramref name="index"/>: at most <paramref name="maxLines"/> lines and about
    /// <paramref name="maxBytes"/> bytes, never past the end of the block. Returns the number of lines.
    /// </summary>
    public int TakeChunk(int index, long maxLines, int maxBytes, out ReadOnlyMemory<byte> chunk)
    {
        var limit = (int)Math.Min(Count, index + Math.Min(maxLines, int.MaxValue));
        var end = index + 1;
        while (end < limit && lineStart[end + 1] - lineStart[index] <= maxBytes)
        {
            end++;
        }

        chunk = bytes.AsMemory(lineStart[index], lineStart[end] - lineStart[index]);
        return end - index;
    }

    /// <summary>How many times each event name occurs in <paramref name="events"/> lines read from <paramref name="offset"/>.</summary>
    public Dictionary<string, long> ExpectedCounts(int offset, long events)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var full = events / Count;
        if (full > 0)
        {
            foreach (var name in Names)
            {
                counts[name] = counts.GetValueOrDefault(name) + full;
            }
        }

        var rest = events % Count;
        for (var i = 0; i < rest; i++)
        {
            var name = Names[(offset + i) % Count];
            counts[name] = counts.GetValueOrDefault(name) + 1;
        }

        return counts;
    }

    /// <summary>The name of the last event of the stream: once its count is reached, everything before it was counted too.</summary>
    public string LastName(int offset, long events) => Names[(int)((offset + events - 1) % Count)];

    /// <summary>Mean bytes per line (for the wire figures).</summary>
    public double MeanLineBytes => (double)bytes.Length / Count;

    /// <summary>
    /// Per 1000 events. The bulk is what QEMU really sends in floods, unthrottled: guest I/O errors with report/ignore
    /// (a looping guest), BLOCK_JOB_ERROR with on-error=ignore, job status changes, migration passes. Rare: what
    /// pauses the VM or needs an operator (STOP, RESUME, SHUTDOWN, action=stop errors, panics, dumps). Run-state events,
    /// action=stop errors and job events make the exporter run query-status / query-block / query-block-jobs.
    /// </summary>
    private static readonly (string Name, int PerMille, string?[] Data)[] Mix =
    [
        ("BLOCK_IO_ERROR", 0, [
            "{\"device\": \"drive0\", \"node-name\": \"disk0\", \"reason\": \"Input/output error\", \"operation\": \"read\", \"action\": \"report\"}",
            "{\"device\": \"\", \"node-name\": \"disk2\", \"reason\": \"Input/output error\", \"operation\": \"read\", \"action\": \"ignore\"}",
            "{\"device\": \"\", \"node-name\": \"disk2\", \"reason\": \"Input/output error\", \"operation\": \"write\", \"action\": \"report\"}",
            "{\"device\": \"drive0\", \"node-name\": \"disk0\", \"reason\": \"Input/output error\", \"operation\": \"write\", \"action\": \"report\"}",
        ]),
        ("BLOCK_IO_ERROR", 1, [
            "{\"device\": \"\", \"nospace\": false, \"node-name\": \"disk1\", \"reason\": \"Input/output error\", \"operation\": \"read\", \"action\": \"stop\"}",
            "{\"device\": \"drive3\", \"nospace\": true, \"node-name\": \"disk3\", \"reason\": \"No space left on device\", \"operation\": \"write\", \"action\": \"stop\"}",
        ]),
        ("JOB_STATUS_CHANGE", 150, [
            "{\"status\": \"created\", \"id\": \"job-stream\"}",
            "{\"status\": \"running\", \"id\": \"job-stream\"}",
            "{\"status\": \"waiting\", \"id\": \"job-stream\"}",
            "{\"status\": \"pending\", \"id\": \"job-stream\"}",
            "{\"status\": \"concluded\", \"id\": \"job-stream\"}",
            "{\"status\": \"null\", \"id\": \"job-stream\"}",
            "{\"status\": \"ready\", \"id\": \"job-mirror\"}",
            "{\"status\": \"paused\", \"id\": \"job-stop\"}",
            "{\"status\": \"aborting\", \"id\": \"job-cancel\"}",
        ]),
        ("BLOCK_JOB_ERROR", 100, [
            "{\"device\": \"job-ignore\", \"operation\": \"write\", \"action\": \"ignore\"}",
            "{\"device\": \"job-ignore\", \"operation\": \"write\", \"action\": \"ignore\"}",
            "{\"device\": \"job-ignore\", \"operation\": \"read\", \"action\": \"ignore\"}",
            "{\"device\": \"job-report\", \"operation\": \"write\", \"action\": \"report\"}",
        ]),
        ("BLOCK_JOB_COMPLETED", 20, [
            "{\"device\": \"job-stream\", \"len\": 33554432, \"offset\": 33554432, \"speed\": 4194304, \"type\": \"stream\"}",
            "{\"device\": \"job-commit\", \"len\": 1048576, \"offset\": 1048576, \"speed\": 4194304, \"type\": \"commit\"}",
            "{\"device\": \"job-report\", \"len\": 33554432, \"offset\": 12582912, \"speed\": 0, \"type\": \"mirror\", \"error\": \"Input/output error\"}",
        ]),
        ("BLOCK_JOB_READY", 20, [
            "{\"device\": \"job-mirror\", \"len\": 33554432, \"offset\": 33554432, \"speed\": 33554432, \"type\": \"mirror\"}",
            "{\"device\": \"job-commit\", \"len\": 1048576, \"offset\": 1048576, \"speed\": 4194304, \"type\": \"commit\"}",
        ]),
        ("BLOCK_JOB_CANCELLED", 5, ["{\"device\": \"job-cancel\", \"len\": 33554432, \"offset\": 524288, \"speed\": 1048576, \"type\": \"stream\"}"]),
        ("BLOCK_JOB_PENDING", 5, ["{\"type\": \"stream\", \"id\": \"job-manual\"}"]),
        ("MIGRATION", 20, [
            "{\"status\": \"setup\"}", "{\"status\": \"active\"}", "{\"status\": \"completed\"}",
            "{\"status\": \"setup\"}", "{\"status\": \"active\"}", "{\"status\": \"cancelling\"}", "{\"status\": \"cancelled\"}",
            "{\"status\": \"setup\"}", "{\"status\": \"active\"}", "{\"status\": \"failed\"}",
        ]),
        ("MIGRATION_PASS", 60, ["{\"pass\": 1}", "{\"pass\": 2}", "{\"pass\": 3}", "{\"pass\": 4}"]),
        ("DEVICE_TRAY_MOVED", 40, [
            "{\"device\": \"\", \"tray-open\": true, \"id\": \"cd0\"}",
            "{\"device\": \"\", \"tray-open\": false, \"id\": \"cd0\"}",
            "{\"device\": \"cdrom1\", \"tray-open\": true, \"id\": \"cd1\"}",
            "{\"device\": \"cdrom1\", \"tray-open\": false, \"id\": \"cd1\"}",
        ]),
        ("DUMP_COMPLETED", 2, [
            "{\"result\": {\"total\": 134479872, \"status\": \"completed\", \"completed\": 134479872}}",
            "{\"result\": {\"total\": 134479872, \"status\": \"completed\", \"completed\": 134479872}}",
            "{\"result\": {\"total\": 134479872, \"status\": \"completed\", \"completed\": 134479872}}",
            "{\"result\": {\"total\": 134479872, \"status\": \"failed\", \"completed\": 0}, \"error\": \"dump: failed to write elf header: No space left on device\"}",
        ]),
        ("GUEST_PANICKED", 1, ["{\"action\": \"pause\"}", "{\"action\": \"poweroff\"}"]),
        ("GUEST_CRASHLOADED", 1, ["{\"action\": \"run\"}"]),
        ("QUORUM_REPORT_BAD", 30, [
            "{\"node-name\": \"qchild1\", \"sectors-count\": 8, \"sector-num\": 256, \"type\": \"read\", \"error\": \"Input/output error\"}",
            "{\"node-name\": \"qchild2\", \"sectors-count\": 8, \"sector-num\": 0, \"type\": \"read\"}",
        ]),
        ("QUORUM_FAILURE", 5, ["{\"reference\": \"quorum0\", \"sectors-count\": 8, \"sector-num\": 0}"]),
        ("BLOCK_WRITE_THRESHOLD", 5, ["{\"node-name\": \"wt0\", \"write-threshold\": 1048576, \"amount-exceeded\": 65536}"]),
        ("BLOCK_IMAGE_CORRUPTED", 1, ["{\"device\": \"cdrv\", \"msg\": \"Preventing invalid write on metadata (overlaps with active L1 table)\", \"offset\": 196608, \"node-name\": \"cnode\", \"fatal\": true, \"size\": 512}"]),
        ("BLOCK_EXPORT_DELETED", 1, ["{\"id\": \"export0\"}"]),
        ("DEVICE_DELETED", 5, ["{\"device\": \"kbd0\", \"path\": \"/machine/peripheral/kbd0\"}"]),
        ("RTC_CHANGE", 10, ["{\"offset\": 600, \"qom-path\": \"/machine/unattached/device[9]\"}"]),
        ("BALLOON_CHANGE", 5, ["{\"actual\": 117440512}"]),
        ("VSERPORT_CHANGE", 5, ["{\"open\": true, \"id\": \"port0\"}", "{\"open\": false, \"id\": \"port0\"}"]),
        ("NIC_RX_FILTER_CHANGED", 5, ["{\"name\": \"nic0\", \"path\": \"/machine/peripheral/nic0/virtio-backend\"}"]),
        ("WATCHDOG", 2, ["{\"action\": \"reset\"}"]),
        ("RESET", 5, ["{\"guest\": true, \"reason\": \"guest-reset\"}", "{\"guest\": false, \"reason\": \"host-qmp-system-reset\"}"]),
        ("POWERDOWN", 1, [null]),
        ("SUSPEND", 1, [null]),
        ("WAKEUP", 1, [null]),
        ("SHUTDOWN", 1, ["{\"guest\": true, \"reason\": \"guest-shutdown\"}"]),
        ("STOP", 1, [null]),
        ("RESUME", 1, [null]),
    ];

    private static class Holder
    {
        public static readonly EventMix Value = Create(DefaultBlockSize, seed: 42);
    }

    private static EventMix Create(int blockSize, int seed)
    {
        // BLOCK_IO_ERROR (a looping guest, unthrottled in QEMU) takes whatever per-mille the others leave.
        var perMille = Mix.Select(m => m.PerMille).ToArray();
        perMille[0] = 1000 - perMille.Sum();
        var entries = new List<(string Name, string? Data)>(blockSize);
        for (var m = 0; m < Mix.Length; m++)
        {
            var n = (int)((long)blockSize * perMille[m] / 1000);
            for (var i = 0; i < n; i++)
            {
                entries.Add((Mix[m].Name, Mix[m].Data[i % Mix[m].Data.Length]));
            }
        }

        while (entries.Count < blockSize)
        {
            entries.Add((Mix[0].Name, Mix[0].Data[entries.Count % Mix[0].Data.Length]));
        }

        var random = new Random(seed);
        for (var i = entries.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (entries[i], entries[j]) = (entries[j], entries[i]);
        }

        // Timestamps as QEMU writes them: host wall clock, microseconds without padding, ~37 µs apart.
        var text = new StringBuilder(blockSize * 160);
        var lineStart = new int[blockSize + 1];
        var names = new string[blockSize];
        long seconds = 1_795_624_766, micros = 155_936;
        var utf8Length = 0;
        for (var i = 0; i < blockSize; i++)
        {
            var (name, data) = entries[i];
            micros += 37;
            if (micros >= 1_000_000)
            {
                seconds++;
                micros -= 1_000_000;
            }

            var line = Qemu72Wire.Event(name, data, seconds, micros) + Qemu72Wire.LineEnd;
            lineStart[i] = utf8Length;
            utf8Length += Encoding.UTF8.GetByteCount(line);
            text.Append(line);
            names[i] = name;
        }

        lineStart[blockSize] = utf8Length;
        return new EventMix(Encoding.UTF8.GetBytes(text.ToString()), lineStart, names);
    }
}
