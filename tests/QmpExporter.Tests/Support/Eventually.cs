namespace QmpExporter.Tests.Support;

/// <summary>Polls a condition until it holds or a deadline passes: the only way tests wait for asynchronous effects.</summary>
internal static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    public static async Task<T> Get<T>(Func<Task<T>> probe, Func<T, bool> done, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        T last;
        while (true)
        {
            last = await probe();
            if (done(last))
            {
                return last;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}; last seen: {last}");
            }

            await Task.Delay(20);
        }
    }

    public static Task True(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        Get(() => Task.FromResult(condition()), ok => ok, what, timeout);
}
