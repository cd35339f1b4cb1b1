using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace QmpExporter.Benchmarks;

/// <summary>The parent's handle on a <c>serve</c> child process (the fake QEMU).</summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly Process process;
    private readonly TaskCompletionSource ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread stdoutReader;

    private ServerProcess(Process process)
    {
        this.process = process;
        stdoutReader = new Thread(ReadStdout) { IsBackground = true, Name = "fake-qemu stdout" };
        stdoutReader.Start();
    }

    public readonly record struct Sent(long Events, long FirstTimestamp, long LastTimestamp, long Bytes, string Commands);

    /// <summary>Completed floods by connection tag (prefix + socket index); a tag reused by a new connection is overwritten.</summary>
    public ConcurrentDictionary<string, Sent> Floods { get; } = new(StringComparer.Ordinal);

    public int Aborted;

    public int Pid => process.Id;

    public static async Task<ServerProcess> StartAsync(string dir, params FakeQemu.Group[] groups)
    {
        var start = Cli.SelfStartInfo(["serve", dir, .. groups.Select(g => g.ToString())]);
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.UseShellExecute = false;
        // The fake QEMU needs no Server GC: keep it small and out of the exporter's way.
        start.Environment["DOTNET_gcServer"] = "0";
        var server = new ServerProcess(Process.Start(start) ?? throw new InvalidOperationException("cannot start the fake QEMU"));
        await server.ready.Task.WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        return server;
    }

    /// <summary>Waits until the floods of these tags were all reported (the report follows the last send by microseconds).</summary>
    public bool WaitForFloods(IEnumerable<string> tags, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var missing = tags.ToList();
        while (true)
        {
            missing.RemoveAll(Floods.ContainsKey);
            if (missing.Count == 0)
            {
                return true;
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                return false;
            }

            Thread.Sleep(1);
        }
    }

    public void Dispose()
    {
        try
        {
            process.StandardInput.Close();
            if (!process.WaitForExit(5000))
            {
                process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        process.Dispose();
    }

    private void ReadStdout()
    {
        while (process.StandardOutput.ReadLine() is { } line)
        {
            var parts = line.Split(' ');
            switch (parts[0])
            {
                case "ready":
                    ready.TrySetResult();
                    break;
                case "sent":
                    Floods[parts[1]] = new Sent(L(parts[2]), L(parts[3]), L(parts[4]), L(parts[5]), parts.Length > 6 ? parts[6] : "");
                    break;
                case "aborted":
                    Interlocked.Increment(ref Aborted);
                    break;
                default:
                    Console.Error.WriteLine($"fake-qemu: {line}");
                    break;
            }
        }

        ready.TrySetException(new InvalidOperationException("the fake QEMU exited before it was ready"));
    }

    private static long L(string s) => long.Parse(s, CultureInfo.InvariantCulture);
}
