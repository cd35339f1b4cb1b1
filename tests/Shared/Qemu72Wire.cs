namespace QmpExporter.Wire;

/// <summary>
/// What QEMU 7.2 (Debian 12's 1:7.2+dfsg-7+deb12u18) writes on a QMP socket, byte for byte: the greeting, replies and
/// errors (the id last in a reply, first in an error), and events (timestamp first; ", " and ": " spacing). Lines end
/// with <see cref="LineEnd"/>. The one vocabulary of the tests' fake QMP server and the benchmark's fake QEMU.
/// </summary>
internal static class Qemu72Wire
{
    public const string LineEnd = "\r\n";

    /// <summary>query-version's return value, and the greeting's <c>version</c>.</summary>
    public const string Version = """{"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}""";

    public const string Greeting = """{"QMP": {"version": """ + Version + """, "capabilities": ["oob"]}}""";

    /// <summary>query-status's return value for a running VM.</summary>
    public const string RunningStatus = """{"status": "running", "singlestep": false, "running": true}""";

    /// <summary>The reply to a line that is not JSON: it has no id.</summary>
    public const string ParseError = """{"error": {"class": "GenericError", "desc": "JSON parse error"}}""";

    public const string NegotiationExpected = "Expecting capabilities negotiation with 'qmp_capabilities'";

    public const string NegotiationDone = "Capabilities negotiation is already complete, command ignored";

    public static string CommandNotFound(string command) => $"The command {command} has not been found";

    /// <summary>A successful reply; <paramref name="idJson"/> is the request's id as JSON text, or null when it had none.</summary>
    public static string Return(string valueJson, string? idJson) =>
        idJson is null ? $$"""{"return": {{valueJson}}}""" : $$"""{"return": {{valueJson}}, "id": {{idJson}}}""";

    /// <summary>An error reply; <paramref name="description"/> must need no JSON escaping (QEMU's own texts do not).</summary>
    public static string Error(string errorClass, string description, string? idJson) =>
        idJson is null
            ? $$$"""{"error": {"class": "{{{errorClass}}}", "desc": "{{{description}}}"}}"""
            : $$$"""{"id": {{{idJson}}}, "error": {"class": "{{{errorClass}}}", "desc": "{{{description}}}"}}""";

    public static string Event(string name, string? dataJson, long seconds, long microseconds) =>
        dataJson is null
            ? $$"""{"timestamp": {"seconds": {{seconds}}, "microseconds": {{microseconds}}}, "event": "{{name}}"}"""
            : $$"""{"timestamp": {"seconds": {{seconds}}, "microseconds": {{microseconds}}}, "event": "{{name}}", "data": {{dataJson}}}""";
}
