namespace QmpExporter.Sources;

/// <summary>Whether a process still runs, from <c>/proc/PID/stat</c>: a zombie (exited, not yet reaped) counts as gone.</summary>
internal static class ProcessState
{
    public static bool IsGone(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");

            // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
            var close = stat.LastIndexOf(')');
            return close < 0 || close + 2 >= stat.Length || stat[close + 2] is 'Z' or 'X';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>Polls until the process is gone or <paramref name="within"/> passed: a QEMU closes its sockets while it exits.</summary>
    public static async Task<bool> WaitGoneAsync(int pid, TimeSpan within, TimeProvider time, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + within;
        while (!IsGone(pid))
        {
            if (time.GetUtcNow() >= deadline)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), time, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }
}
