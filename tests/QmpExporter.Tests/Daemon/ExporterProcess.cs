using System.Diagnostics;
using System.Text.RegularExpressions;
using QmpExporter.Tests.Support;
using Xunit.Sdk;

namespace QmpExporter.Tests.Daemon;

/// <summary>
/// The exporter as its own process (the build beside the tests, no appsettings.json next to it), for what only a
/// process shows: exit codes, signals, what it prints.
/// </summary>
internal sealed partial class ExporterProcess : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly List<string> lines = [];
    private readonly List<string> stderr = [];

    private ExporterProcess(Process process) => Process = process;

    public static string Binary => Path.Combine(AppContext.BaseDirectory, "qmp-exporter");

    public Process Process { get; }

    /// <summary>Everything printed, stdout and stderr, in arrival order.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (lines)
            {
                return [.. lines];
            }
        }
    }

    public IReadOnlyList<string> StdErr
    {
        get
        {
            lock (lines)
            {
                return [.. stderr];
            }
        }
    }

    public string Output => string.Join('\n', Lines);

    /// <summary>Starts the exporter, or <paramref name="launcher"/> with the exporter's path and the arguments after it.</summary>
    public static ExporterProcess Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, string? launcher = null, IEnumerable<string>? launcherArguments = null)
    {
        var start = new ProcessStartInfo(launcher ?? Binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in launcher is null ? arguments : [.. launcherArguments ?? [], Binary, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var exporter = new ExporterProcess(Process.Start(start) ?? throw new XunitException("could not start the exporter"));
        exporter.Process.OutputDataReceived += (_, e) => exporter.Add(e.Data, isError: false);
        exporter.Process.ErrorDataReceived += (_, e) => exporter.Add(e.Data, isError: true);
        exporter.Process.BeginOutputReadLine();
        exporter.Process.BeginErrorReadLine();
        return exporter;
    }

    /// <summary>Runs the exporter to its end and returns its exit code.</summary>
    public static async Task<ExporterProcess> RunAsync(params string[] arguments)
    {
        var exporter = Start(arguments);
        await exporter.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return exporter;
    }

    /// <summary>Sends a signal (HUP, TERM) as an operator or systemd does.</summary>
    public Task Signal(string signal) => ExternalTool.RunCheckedAsync("kill", ["-s", signal, Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    /// <summary>Waits for the exit; fails the test with everything printed if it takes longer than <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await Process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new XunitException($"the exporter did not exit within {timeout.TotalSeconds} s:\n{Output}");
        }

        return Process.ExitCode;
    }

    /// <summary>The address of "Now listening on: URL", once it is logged.</summary>
    public async Task<Uri> ListeningAsync()
    {
        string? url = null;
        await Eventually.True(
            () =>
            {
                if (Process.HasExited)
                {
                    throw new XunitException($"the exporter exited with code {Process.ExitCode}:\n{Output}");
                }

                url = Lines.Select(l => ListeningOn().Match(l)).FirstOrDefault(m => m.Success)?.Groups[1].Value;
                return url is not null;
            },
            "the exporter to log where it listens",
            TimeSpan.FromSeconds(30));
        return new Uri(url!);
    }

    /// <summary>Scrapes <c>/metrics</c> until <paramref name="done"/> holds, as <see cref="ExporterHost.WaitForAsync"/> does in process.</summary>
    public async Task<Scrape> WaitForAsync(Func<Scrape, bool> done, string what, TimeSpan? timeout = null)
    {
        var metrics = new Uri(await ListeningAsync(), "/metrics");
        return await Eventually.Get(async () => new Scrape(await Http.GetStringAsync(metrics)), done, what, timeout);
    }

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            await Process.WaitForExitAsync();
        }

        Process.Dispose();
    }

    [GeneratedRegex(@"Now listening on: (https?://[^\s"",]+)")]
    private static partial Regex ListeningOn();

    private void Add(string? line, bool isError)
    {
        if (line is null)
        {
            return;
        }

        lock (lines)
        {
            lines.Add(line);
            if (isError)
            {
                stderr.Add(line);
            }
        }
    }
}
