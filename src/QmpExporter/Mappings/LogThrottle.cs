namespace QmpExporter.Mappings;

/// <summary>Lets one log line through per window and counts the rest, so a flood is summarised instead of logged line by line.</summary>
internal sealed class LogThrottle(TimeProvider time, TimeSpan window)
{
    private long windowStart = long.MinValue;
    private int suppressed;

    /// <summary>True when this line may be logged; <paramref name="suppressedBefore"/> is how many were held back since the last one.</summary>
    public bool TryEnter(out int suppressedBefore)
    {
        var now = time.GetTimestamp();
        var start = Interlocked.Read(ref windowStart);
        if (start == long.MinValue || time.GetElapsedTime(start, now) >= window)
        {
            Interlocked.Exchange(ref windowStart, now);
            suppressedBefore = Interlocked.Exchange(ref suppressed, 0);
            return true;
        }

        Interlocked.Increment(ref suppressed);
        suppressedBefore = 0;
        return false;
    }
}
