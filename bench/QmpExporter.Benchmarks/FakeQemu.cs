using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using QmpExporter.Wire;

namespace QmpExporter.Benchmarks;

/// <summary>
/// The <c>serve</c> sub-command: a fake QEMU 7.2 in its own process (so its work and allocations stay out of the
/// exporter's figures). It listens on unix sockets, greets exactly like QEMU 7.2, answers qmp_capabilities,
/// query-version and query-status by id, and right after the capabilities handshake floods its pre-rendered events.
/// Protocol to the parent, one line each on stdout: <c>ready</c> once every socket listens, then per connection
/// <c>sent TAG EVENTS FIRST_TS LAST_TS BYTES COMMAND=N,...</c> (commands answered until the flood ended) (Stopwatch timestamps = CLOCK_MONOTONIC, comparable across processes)
/// or <c>aborted TAG EVENTS</c>. The server exits when its stdin closes.
/// </summary>
internal static class FakeQemu
{
    public const int ChunkBytes = 64 * 1024;

    public static readonly byte[] Greeting =
        Encoding.UTF8.GetBytes(Qemu72Wire.Greeting + Qemu72Wire.LineEnd);

    /// <summary>One group of sockets <c>DIR/PREFIX{i}.sock</c>, i in [0, Count), each flooding <c>Events</c> events per connection.</summary>
    public readonly record struct Group(string Prefix, int Count, long Events)
    {
        public override string ToString() => $"{Prefix}:{Count}:{Events}";

        public static Group Parse(string text)
        {
            var parts = text.Split(':');
            return new Group(parts[0], int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), long.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    public static string SocketPath(string dir, string prefix, int index) => Path.Combine(dir, $"{prefix}{index}.sock");

    /// <summary>serve DIR GROUP... (GROUP = prefix:count:events)</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var dir = args[0];
        var groups = args.Skip(1).Select(Group.Parse).ToArray();
        var mix = EventMix.Shared;
        var listeners = new List<Socket>();
        foreach (var group in groups)
        {
            for (var i = 0; i < group.Count; i++)
            {
                var path = SocketPath(dir, group.Prefix, i);
                File.Delete(path);
                var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                listener.Bind(new UnixDomainSocketEndPoint(path));
                listener.Listen(128);
                listeners.Add(listener);
                _ = AcceptLoopAsync(listener, $"{group.Prefix}{i}", group.Events, mix.OffsetFor(i), mix);
            }
        }

        Console.Out.WriteLine("ready");
        await Task.Run(() =>
        {
            while (Console.In.ReadLine() is not null)
            {
            }
        }).ConfigureAwait(false);
        foreach (var listener in listeners)
        {
            listener.Dispose();
        }

        return 0;
    }

    private static async Task AcceptLoopAsync(Socket listener, string tag, long events, int offset, EventMix mix)
    {
        try
        {
            while (true)
            {
                var socket = await listener.AcceptAsync().ConfigureAwait(false);
                _ = ServeAsync(new Connection(socket, tag, events, offset, mix));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Listener closed at exit.
        }
    }

    private static async Task ServeAsync(Connection connection)
    {
        using (connection)
        {
            await connection.RunAsync().ConfigureAwait(false);
        }
    }

    private sealed class Connection(Socket socket, string tag, long events, int offset, EventMix mix) : IDisposable
    {
        private readonly SemaphoreSlim writeLock = new(1, 1);

        public void Dispose() => writeLock.Dispose();
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> commands = new(StringComparer.Ordinal);

        public async Task RunAsync()
        {
            Task flood = Task.CompletedTask;
            try
            {
                await WriteAsync(Greeting).ConfigureAwait(false);
                var buffer = new byte[4096];
                var have = 0;
                var negotiated = false;
                while (true)
                {
                    if (have == buffer.Length)
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }

                    var n = await socket.ReceiveAsync(buffer.AsMemory(have), SocketFlags.None).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    have += n;
                    var start = 0;
                    while (true)
                    {
                        var newline = buffer.AsSpan(start, have - start).IndexOf((byte)'\n');
                        if (newline < 0)
                        {
                            break;
                        }

                        var reply = Answer(buffer.AsSpan(start, newline), negotiated, out var negotiatedNow, out var command);
                        commands.AddOrUpdate(command ?? "?", 1, (_, n) => n + 1);
                        start += newline + 1;
                        if (reply is null)
                        {
                            continue;
                        }

                        await WriteAsync(reply).ConfigureAwait(false);
                        if (negotiatedNow)
                        {
                            // QEMU delivers events only after qmp_capabilities succeeded: start right after its reply.
                            negotiated = true;
                            flood = Task.Run(FloodAsync);
                        }
                    }

                    buffer.AsSpan(start, have - start).CopyTo(buffer);
                    have -= start;
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The exporter went away.
            }
            finally
            {
                try
                {
                    socket.Shutdown(SocketShutdown.Both);
                }
                catch (SocketException)
                {
                }

                socket.Dispose();
            }

            await flood.ConfigureAwait(false);
        }

        private async Task FloodAsync()
        {
            long sent = 0, bytes = 0, first = 0;
            var index = offset;
            try
            {
                while (sent < events)
                {
                    var lines = mix.TakeChunk(index, events - sent, ChunkBytes, out var chunk);
                    await writeLock.WaitAsync().ConfigureAwait(false);
                    try
                    {
                        if (first == 0)
                        {
                            first = Stopwatch.GetTimestamp();
                        }

                        await SendAllAsync(chunk).ConfigureAwait(false);
                    }
                    finally
                    {
                        writeLock.Release();
                    }

                    sent += lines;
                    bytes += chunk.Length;
                    index = (index + lines) % mix.Count;
                }

                var last = Stopwatch.GetTimestamp();
                var during = string.Join(",", commands.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}"));
                Console.Out.WriteLine($"sent {tag} {sent} {first} {last} {bytes} {during}");
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                Console.Out.WriteLine($"aborted {tag} {sent}");
            }
        }

        private async Task WriteAsync(byte[] reply)
        {
            await writeLock.WaitAsync().ConfigureAwait(false);
            try
            {
                await SendAllAsync(reply).ConfigureAwait(false);
            }
            finally
            {
                writeLock.Release();
            }
        }

        private async ValueTask SendAllAsync(ReadOnlyMemory<byte> data)
        {
            while (!data.IsEmpty)
            {
                var n = await socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
                data = data[n..];
            }
        }

        /// <summary>QEMU's reply to one command line, ids echoed verbatim; null for a blank line.</summary>
        private static byte[]? Answer(ReadOnlySpan<byte> line, bool negotiated, out bool negotiatedNow, out string? command)
        {
            negotiatedNow = false;
            command = null;
            if (line.Trim((byte)'\r').IsEmpty)
            {
                return null;
            }

            string? id = null;
            try
            {
                var reader = new Utf8JsonReader(line);
                if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isExecute = reader.ValueTextEquals("execute"u8);
                        var isId = !isExecute && reader.ValueTextEquals("id"u8);
                        reader.Read();
                        var start = (int)reader.TokenStartIndex;
                        reader.Skip();
                        if (isExecute && reader.TokenType == JsonTokenType.String)
                        {
                            command = reader.GetString();
                        }
                        else if (isId)
                        {
                            id = Encoding.UTF8.GetString(line[start..(int)reader.BytesConsumed]);
                        }
                    }
                }
            }
            catch (JsonException)
            {
                return Encoding.UTF8.GetBytes(Qemu72Wire.ParseError + Qemu72Wire.LineEnd);
            }

            string Ok(string value) => Qemu72Wire.Return(value, id) + Qemu72Wire.LineEnd;
            string Error(string cls, string desc) => Qemu72Wire.Error(cls, desc, id) + Qemu72Wire.LineEnd;

            string reply;
            if (!negotiated)
            {
                if (command == "qmp_capabilities")
                {
                    negotiatedNow = true;
                    reply = Ok("{}");
                }
                else
                {
                    reply = Error("CommandNotFound", Qemu72Wire.NegotiationExpected);
                }
            }
            else
            {
                reply = command switch
                {
                    "qmp_capabilities" => Error("CommandNotFound", Qemu72Wire.NegotiationDone),
                    "query-version" => Ok(Replies.Version),
                    "query-status" => Ok(Replies.Status),
                    "query-block" => Ok(Replies.Block),
                    "query-block-jobs" => Ok(Replies.BlockJobs),
                    "query-migrate" => Ok(Replies.Migrate),
                    "query-blockstats" => Ok(Replies.BlockStats),
                    _ => Error("CommandNotFound", Qemu72Wire.CommandNotFound(command ?? "")),
                };
            }

            return Encoding.UTF8.GetBytes(reply);
        }
    }

    /// <summary>QEMU 7.2's answers (member order as QEMU's QDict writes them) for the drives, jobs and migration the events talk about.</summary>
    private static class Replies
    {
        public const string Version = Qemu72Wire.Version;

        public const string Status = Qemu72Wire.RunningStatus;

        public const string BlockJobs = "[{\"auto-finalize\": true, \"io-status\": \"ok\", \"device\": \"job-mirror\", \"auto-dismiss\": true, \"busy\": false, \"len\": 33554432, \"offset\": 33554432, \"status\": \"ready\", \"paused\": false, \"speed\": 33554432, \"ready\": true, \"type\": \"mirror\"}, {\"auto-finalize\": true, \"io-status\": \"ok\", \"device\": \"job-ignore\", \"auto-dismiss\": true, \"busy\": true, \"len\": 33554432, \"offset\": 12582912, \"status\": \"running\", \"paused\": false, \"speed\": 0, \"ready\": false, \"type\": \"mirror\"}]";

        public const string Migrate = "{\"expected-downtime\": 300, \"status\": \"active\", \"setup-time\": 4, \"total-time\": 1210, \"ram\": {\"total\": 134750208, \"postcopy-requests\": 0, \"dirty-sync-count\": 3, \"multifd-bytes\": 0, \"pages-per-second\": 256, \"downtime-bytes\": 0, \"page-size\": 4096, \"remaining\": 2097152, \"postcopy-bytes\": 0, \"mbps\": 8.39, \"transferred\": 1268734, \"dirty-sync-missed-zero-copy\": 0, \"precopy-bytes\": 1268734, \"duplicate\": 32470, \"dirty-pages-rate\": 128, \"skipped\": 0, \"normal-bytes\": 1069056, \"normal\": 261}}";

        private static readonly (string Device, string Node, string Qdev)[] Drives =
            [("drive0", "disk0", "/machine/peripheral-anon/device[0]/virtio-backend"), ("", "disk1", "ide0"), ("", "disk2", "ide1"), ("drive3", "disk3", "/machine/peripheral-anon/device[1]/virtio-backend")];

        public static readonly string Block = "[" + string.Join(", ", Drives.Select(d =>
            $"{{\"io-status\": \"ok\", \"device\": \"{d.Device}\", \"locked\": false, \"removable\": false, \"inserted\": {{\"iops_rd\": 0, \"detect_zeroes\": \"off\", \"image\": {{\"virtual-size\": 1048576, \"filename\": \"/var/lib/vm/{d.Node}.img\", \"format\": \"raw\", \"actual-size\": 1048576, \"dirty-flag\": false}}, \"iops_wr\": 0, \"ro\": false, \"node-name\": \"{d.Node}\", \"backing_file_depth\": 0, \"drv\": \"raw\", \"iops\": 0, \"bps_wr\": 0, \"write_threshold\": 0, \"encrypted\": false, \"bps\": 0, \"bps_rd\": 0, \"cache\": {{\"no-flush\": false, \"direct\": false, \"writeback\": true}}, \"file\": \"/var/lib/vm/{d.Node}.img\"}}, \"qdev\": \"{d.Qdev}\", \"type\": \"unknown\"}}")
            .Concat([
                "{\"io-status\": \"ok\", \"device\": \"\", \"locked\": false, \"removable\": true, \"qdev\": \"cd0\", \"tray_open\": false, \"type\": \"unknown\"}",
                "{\"io-status\": \"ok\", \"device\": \"cdrom1\", \"locked\": false, \"removable\": true, \"qdev\": \"cd1\", \"tray_open\": false, \"type\": \"unknown\"}",
            ])) + "]";

        public static readonly string BlockStats = "[" + string.Join(", ", Drives.Select(d =>
            $"{{\"device\": \"{d.Device}\", \"node-name\": \"{d.Node}\", \"stats\": {{\"unmap_operations\": 0, \"unmap_merged\": 0, \"flush_total_time_ns\": 0, \"wr_highest_offset\": 512, \"wr_total_time_ns\": 201003, \"failed_wr_operations\": 3, \"failed_rd_operations\": 7, \"wr_merged\": 0, \"wr_bytes\": 512, \"timed_stats\": [], \"failed_unmap_operations\": 0, \"failed_flush_operations\": 0, \"account_invalid\": true, \"rd_total_time_ns\": 1130421, \"invalid_unmap_operations\": 0, \"flush_operations\": 0, \"wr_operations\": 1, \"unmap_bytes\": 0, \"rd_merged\": 0, \"rd_bytes\": 37376, \"unmap_total_time_ns\": 0, \"invalid_flush_operations\": 0, \"account_failed\": true, \"idle_time_ns\": 112233445, \"rd_operations\": 73, \"invalid_wr_operations\": 0, \"invalid_rd_operations\": 0}}, \"qdev\": \"{d.Qdev}\"}}")) + "]";
    }
}
