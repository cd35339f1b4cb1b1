namespace QmpExporter.Qmp;

/// <summary>Root of every error the QMP layer raises; cancellation is never wrapped in one.</summary>
internal class QmpException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The socket could not be reached (missing, refused, unreachable).</summary>
internal sealed class QmpConnectException(string message, Exception inner) : QmpException(message, inner);

/// <summary>
/// The peer broke the protocol (qmp-spec section 2): the connection cannot be trusted any more.
/// <see cref="Reason"/> is the low-cardinality label for <c>qmp_protocol_errors_total</c>.
/// </summary>
internal class QmpProtocolException(string reason, string message) : QmpException(message)
{
    public string Reason { get; } = reason;
}

/// <summary>A line went past the configured maximum without a newline.</summary>
internal sealed class QmpLineTooLongException(int maxLineBytes)
    : QmpProtocolException(QmpProtocolErrorReasons.OversizeLine, $"a QMP line is longer than the {maxLineBytes}-byte limit (QmpExporter:MaxLineBytes)");

/// <summary>The socket accepted but QEMU sent no greeting in time: most often another client holds the monitor.</summary>
internal sealed class QmpGreetingTimeoutException(TimeSpan timeout)
    : QmpProtocolException(QmpProtocolErrorReasons.GreetingTimeout, $"no QMP greeting within {timeout.TotalSeconds:0.###} s; another client probably holds this monitor (QEMU serves one client per socket)");

/// <summary>QEMU answered a command with an error object (qmp-spec 2.4.2).</summary>
internal sealed class QmpCommandException(string command, string errorClass, string description)
    : QmpException($"QMP command '{command}' failed: {errorClass}: {description}")
{
    public string ErrorClass { get; } = errorClass;

    public string Description { get; } = description;
}

/// <summary>The connection ended while a command waited for its reply.</summary>
internal sealed class QmpDisconnectedException(string message, Exception? inner = null) : QmpException(message, inner);

/// <summary>The values of the <c>reason</c> label of <c>qmp_protocol_errors_total</c>.</summary>
internal static class QmpProtocolErrorReasons
{
    public const string MalformedLine = "malformed_line";
    public const string OversizeLine = "oversize_line";
    public const string GreetingTimeout = "greeting_timeout";
    public const string BadGreeting = "bad_greeting";
    public const string UnmatchedReply = "unmatched_reply";
    public const string CommandTimeout = "command_timeout";
    public const string TruncatedLine = "truncated_line";

    public static readonly string[] All =
        [MalformedLine, OversizeLine, GreetingTimeout, BadGreeting, UnmatchedReply, CommandTimeout, TruncatedLine];
}
