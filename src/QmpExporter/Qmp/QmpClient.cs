using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace QmpExporter.Qmp;

/// <summary>
/// One QMP connection (qmp-spec, docs/interop/qmp-spec.rst): reads the greeting, negotiates capabilities, runs
/// commands matched to their replies by id, and hands every event to an <see cref="IQmpEventHandler"/> in order.
/// The read loop frames lines straight from a <see cref="PipeReader"/> and peeks at them with
/// <see cref="Utf8JsonReader"/>; events never become strings or documents.
/// </summary>
internal sealed class QmpClient : IAsyncDisposable
{
    private const int ReadBufferBytes = 64 * 1024;
    // Zero-byte reads: a connection waiting for QEMU holds no buffer, only one that has bytes to read does.
    private static readonly StreamPipeReaderOptions ReaderOptions = new(bufferSize: ReadBufferBytes, minimumReadSize: 4096, useZeroByteReads: true);

    private readonly Socket socket;
    private readonly PipeReader reader;
    private readonly PipeWriter writer;
    private readonly IQmpEventHandler handler;
    private readonly QmpClientOptions options;
    private readonly ConcurrentDictionary<long, PendingCommand> pending = new();
    private readonly TaskCompletionSource<QmpGreeting> greeting = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly CancellationTokenSource closing = new();

    /// <summary>The member index of the event being dispatched: the read loop's alone, reused for every line.</summary>
    private readonly QmpDataMember[] dataMembers = new QmpDataMember[QmpEventData.MaxIndexedMembers];
    private Task readLoop = Task.CompletedTask;
    private long lastId;

    private QmpClient(Socket socket, IQmpEventHandler handler, QmpClientOptions options)
    {
        this.socket = socket;
        this.handler = handler;
        this.options = options;
        PeerPid = PeerCredentials.Pid(socket);
        var stream = new NetworkStream(socket, ownsSocket: true);
        reader = PipeReader.Create(stream, ReaderOptions);
        writer = PipeWriter.Create(stream);
    }

    /// <summary>The process at the other end of a unix socket (SO_PEERCRED), 0 for TCP or when the kernel cannot say.</summary>
    public int PeerPid { get; }

    /// <summary>QEMU's greeting, read before <see cref="ConnectAsync"/> returned.</summary>
    public QmpGreeting Greeting { get; private set; } = null!;

    /// <summary>
    /// Completes when the connection ends: successfully at end of stream (an ECONNRESET from an exiting QEMU
    /// included), faulted with a <see cref="QmpProtocolException"/> when the peer broke the protocol.
    /// </summary>
    public Task Completion => readLoop;

    /// <summary>Connects, reads the greeting and negotiates capabilities.</summary>
    /// <exception cref="QmpConnectException">The socket cannot be reached.</exception>
    /// <exception cref="QmpGreetingTimeoutException">The socket accepted but no greeting came.</exception>
    /// <exception cref="QmpProtocolException">The greeting or the negotiation went wrong.</exception>
    public static async Task<QmpClient> ConnectAsync(QmpEndpoint endpoint, IQmpEventHandler handler, QmpClientOptions options, CancellationToken cancellationToken)
    {
        var socket = endpoint.IsUnix
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connectTimeout.CancelAfter(options.ConnectTimeout);
            await socket.ConnectAsync(endpoint.ToEndPoint(), connectTimeout.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            socket.Dispose();
            if (e is not SocketException && !(e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                throw;
            }

            var why = e switch
            {
                SocketException { SocketErrorCode: SocketError.AddressNotAvailable } when endpoint.IsUnix => "the socket file does not exist (VM not started?)",
                SocketException { SocketErrorCode: SocketError.ConnectionRefused } when endpoint.IsUnix => "nothing listens on the socket (QEMU gone, stale socket file)",
                SocketException se => se.Message,
                _ => "timed out",
            };
            throw new QmpConnectException($"cannot connect to {endpoint}: {why}", e);
        }

        return await OpenAsync(socket, handler, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the greeting and negotiates capabilities on a socket that is already connected (a QEMU that dialled in);
    /// the client owns the socket from here on, and disposes it when this fails.
    /// </summary>
    /// <exception cref="QmpGreetingTimeoutException">No greeting came.</exception>
    /// <exception cref="QmpProtocolException">The greeting or the negotiation went wrong.</exception>
    public static async Task<QmpClient> OpenAsync(Socket socket, IQmpEventHandler handler, QmpClientOptions options, CancellationToken cancellationToken)
    {
        var client = new QmpClient(socket, handler, options);
        client.readLoop = client.ReadLoopAsync();
        try
        {
            client.Greeting = await client.greeting.Task.WaitAsync(options.GreetingTimeout, options.TimeProvider, cancellationToken).ConfigureAwait(false);
            await client.ExecuteAsync("qmp_capabilities", cancellationToken: cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch (TimeoutException)
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw new QmpGreetingTimeoutException(options.GreetingTimeout);
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Runs one command and returns its <c>return</c> value. <paramref name="argumentsJson"/> is the JSON object
    /// of arguments, or null for none.
    /// </summary>
    /// <exception cref="QmpCommandException">QEMU answered with an error.</exception>
    /// <exception cref="QmpDisconnectedException">The connection ended first.</exception>
    /// <exception cref="QmpProtocolException">No reply within the command timeout (reason <c>command_timeout</c>).</exception>
    public Task<JsonElement> ExecuteAsync(string command, string? argumentsJson = null, CancellationToken cancellationToken = default) =>
        ExecuteAsync(command, argumentsJson, applyInOrder: null, cancellationToken);

    /// <summary>
    /// Runs one command and hands its <c>return</c> value to <paramref name="applyInOrder"/> on the read loop, before
    /// any line that follows the reply is read: state taken from a query can then never overwrite what a later event
    /// said. The callback must be quick and must not throw.
    /// </summary>
    public async Task<JsonElement> ExecuteAsync(string command, string? argumentsJson, Action<JsonElement>? applyInOrder, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref lastId);
        var reply = new PendingCommand(command, applyInOrder);
        pending[id] = reply;
        try
        {
            if (readLoop.IsCompleted)
            {
                // Nothing would ever answer: the read loop already failed the commands that were waiting.
                throw new QmpDisconnectedException($"QMP connection already ended; '{command}' not sent");
            }

            await WriteCommandAsync(id, command, argumentsJson, cancellationToken).ConfigureAwait(false);
            return await reply.Task.WaitAsync(options.CommandTimeout, options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new QmpProtocolException(QmpProtocolErrorReasons.CommandTimeout, $"QMP command '{command}' got no reply within {options.CommandTimeout.TotalSeconds:0.###} s");
        }
        finally
        {
            pending.TryRemove(id, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!closing.IsCancellationRequested)
        {
            await closing.CancelAsync().ConfigureAwait(false);
        }

        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already gone: nothing left to shut down.
        }
        catch (ObjectDisposedException)
        {
            // Already disposed by the stream.
        }

        try
        {
            await readLoop.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Whatever ended the read loop was already reported through Completion; disposal must finish.
        }

        try
        {
            await writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
            // A command was being written when the peer went away (EPIPE): nothing left to flush it to.
        }

        await reader.CompleteAsync().ConfigureAwait(false);
        socket.Dispose();
        writeLock.Dispose();
        closing.Dispose();
    }

    private async Task WriteCommandAsync(long id, string command, string? argumentsJson, CancellationToken cancellationToken)
    {
        await writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using (var json = new Utf8JsonWriter(writer))
            {
                json.WriteStartObject();
                json.WriteString("execute"u8, command);
                if (argumentsJson is not null)
                {
                    json.WritePropertyName("arguments"u8);
                    json.WriteRawValue(argumentsJson);
                }

                json.WriteNumber("id"u8, id);
                json.WriteEndObject();
            }

            writer.Write("\n"u8);
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new QmpDisconnectedException($"QMP connection closed while sending '{command}'", e);
        }
        finally
        {
            writeLock.Release();
        }
    }

    private async Task ReadLoopAsync()
    {
        Exception? failure = null;
        long searched = 0;
        try
        {
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await reader.ReadAsync(closing.Token).ConfigureAwait(false);
                }
                catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
                {
                    // QEMU exiting with unread input resets the connection: an ordinary end of stream.
                    break;
                }

                var buffer = result.Buffer;
                try
                {
                    while (QmpLineFramer.TryReadLine(ref buffer, options.MaxLineBytes, ref searched, out var line))
                    {
                        if (!line.IsEmpty)
                        {
                            Dispatch(line);
                        }
                    }
                }
                finally
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                }

                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                    {
                        handler.OnProtocolError(QmpProtocolErrorReasons.TruncatedLine, $"the stream ended inside a line of {buffer.Length} bytes");
                    }

                    break;
                }
            }
        }
        catch (OperationCanceledException) when (closing.IsCancellationRequested)
        {
            // Closed by us.
        }
        catch (Exception e)
        {
            failure = e;
        }
        finally
        {
            // Commands that were waiting learn why: a protocol error stays one, so the caller can count it.
            var ended = failure as QmpException ?? new QmpDisconnectedException("the QMP connection ended", failure);
            greeting.TrySetException(ended);
            foreach (var command in pending.Values)
            {
                command.TrySetException(ended);
            }
        }

        if (failure is not null)
        {
            throw failure;
        }
    }

    private void Dispatch(in ReadOnlySequence<byte> line)
    {
        if (line.IsSingleSegment)
        {
            Dispatch(line.FirstSpan);
            return;
        }

        var length = checked((int)line.Length);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            line.CopyTo(rented);
            Dispatch(rented.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Routes one line. Whatever its content, it cannot end the connection: a line that cannot be read, or whose
    /// event or reply cannot be applied, is reported as malformed and the next line is read as usual.
    /// </summary>
    private void Dispatch(ReadOnlySpan<byte> line)
    {
        try
        {
            Route(line);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException or ArgumentException)
        {
            handler.OnProtocolError(QmpProtocolErrorReasons.MalformedLine, $"{e.Message} in line: {Preview(line)}");
        }
    }

    private void Route(ReadOnlySpan<byte> line)
    {
        var message = QmpMessage.Parse(line, dataMembers);

        // A peer that speaks before it greets is not a QMP server: nothing it said counts.
        if (!greeting.Task.IsCompleted && message.Kind != QmpMessageKind.Greeting)
        {
            throw new QmpProtocolException(QmpProtocolErrorReasons.BadGreeting, $"a line before the QMP greeting: {Preview(line)}");
        }

        switch (message.Kind)
        {
            case QmpMessageKind.Event:
                handler.OnEvent(new QmpEvent(message.EventName!, message.Seconds, message.Microseconds, message.EventData(line, dataMembers)));
                break;
            case QmpMessageKind.Reply:
                CompleteCommand(message, line);
                break;
            case QmpMessageKind.Greeting:
                OnGreeting(line);
                break;
            default:
                handler.OnProtocolError(QmpProtocolErrorReasons.MalformedLine, $"neither an event, a reply nor a greeting: {Preview(line)}");
                break;
        }
    }

    private void OnGreeting(ReadOnlySpan<byte> line)
    {
        if (greeting.Task.IsCompleted)
        {
            handler.OnProtocolError(QmpProtocolErrorReasons.BadGreeting, "a second greeting on one connection");
            return;
        }

        try
        {
            greeting.TrySetResult(QmpMessage.ParseGreeting(line));
        }
        catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or FormatException)
        {
            // The greeting's members have the wrong JSON types: nothing else on this connection can be trusted.
            throw new QmpProtocolException(QmpProtocolErrorReasons.BadGreeting, $"malformed QMP greeting: {Preview(line)}");
        }
    }

    private void CompleteCommand(in QmpMessage message, ReadOnlySpan<byte> line)
    {
        if (message.Id is not { } id || !pending.TryGetValue(id, out var command))
        {
            handler.OnProtocolError(QmpProtocolErrorReasons.UnmatchedReply, $"a reply that matches no waiting command: {Preview(line)}");
            return;
        }

        if (QmpMessage.TryReadError(line, out var errorClass, out var description))
        {
            command.TrySetException(new QmpCommandException(command.Name, errorClass, description));
        }
        else
        {
            var value = QmpMessage.ReadReturn(line);
            try
            {
                command.ApplyInOrder?.Invoke(value);
            }
            finally
            {
                // The command gets its reply even when applying it failed (reported as a malformed line).
                command.TrySetResult(value);
            }
        }
    }

    private static string Preview(ReadOnlySpan<byte> line)
    {
        const int max = 200;
        var text = Encoding.UTF8.GetString(line[..Math.Min(line.Length, max)]);
        return line.Length > max ? text + "..." : text;
    }

    private sealed class PendingCommand(string name, Action<JsonElement>? applyInOrder) : TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public string Name { get; } = name;

        public Action<JsonElement>? ApplyInOrder { get; } = applyInOrder;
    }
}
