using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using QmpExporter.Tests.Support;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace QmpExporter.Tests.Deploy;

/// <summary>
/// The release binary: scripts/publish.sh builds the NativeAOT executable with no trim/AOT warning, and that binary
/// serves /metrics with the shipped configurations: the systemd sample (started as systemd starts a Type=notify
/// service, so it must send READY=1) and the Helm chart's ConfigMap on a node with VMs of its own.
/// Slow (a full ILCompiler run into a fresh build folder, about 45-80 s): it proves the published artifact.
/// </summary>
[Collection(DeployAlone.Name)]
public sealed partial class NativeAotPublishTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly string temp = ScratchDir.CreateTempDirectory("aot");

    public void Dispose() => Directory.Delete(temp, recursive: true);

    [Fact]
    public async Task Publish_has_no_warnings_and_the_binary_serves_metrics()
    {
        var outDir = Path.Combine(temp, "out");
        var publish = await ExternalTool.RunCheckedAsync(
            Repository.Path("scripts", "publish.sh"),
            [outDir],
            environment: new Dictionary<string, string> { ["QMP_EXPORTER_BUILD_DIR"] = Path.Combine(temp, "build") },
            timeout: PublishTimeout);
        output.WriteLine($"scripts/publish.sh took {publish.Elapsed.TotalSeconds:F1} s");

        var warnings = WarningLine().Matches(publish.Output).Select(m => m.Value).ToList();
        Assert.True(warnings.Count == 0, $"the publish printed {warnings.Count} warnings:\n{string.Join('\n', warnings)}\n{publish}");
        Assert.Contains("Generating native code", publish.StdOut, StringComparison.Ordinal);
        var binary = Assert.Single(Directory.GetFiles(outDir));
        Assert.Equal("qmp-exporter", Path.GetFileName(binary));
        output.WriteLine($"qmp-exporter: {new FileInfo(binary).Length / 1024.0 / 1024.0:F1} MiB");

        await ServesTheSystemdSampleAndSignalsReady(binary);
        await ServesTheChartConfigForItsNode(binary);
    }

    /// <summary>
    /// systemd starts a Type=notify service with NOTIFY_SOCKET set and waits for READY=1 on it. .NET's UseSystemd()
    /// only talks to systemd when its parent process is named "systemd", so the binary runs under a copy of bash
    /// named so, with deploy/systemd/appsettings.json as its /etc/qmp-exporter.
    /// </summary>
    private async Task ServesTheSystemdSampleAndSignalsReady(string binary)
    {
        var fakeSystemd = Path.Combine(temp, "systemd");
        File.Copy(ExternalTool.Find("bash"), fakeSystemd); // keeps the mode, executable
        var notifyPath = Path.Combine(temp, "notify.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
        var port = FreePort();

        // bash -c 'CMD' NAME ARGS...: "$0" "$@" is the exporter and its arguments, passed as values, never parsed.
        using var exporter = Start(
            fakeSystemd,
            ["-c", "\"$0\" \"$@\" & wait", binary, "--contentRoot", Repository.SystemdDir, "--urls", $"http://127.0.0.1:{port}"],
            new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notifyPath });
        try
        {
            var clock = Stopwatch.StartNew();
            var buffer = new byte[256];
            using var cts = new CancellationTokenSource(StartTimeout);
            int received;
            try
            {
                received = await notify.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new XunitException($"no sd_notify message within {StartTimeout.TotalSeconds} s: a Type=notify start would time out:\n{exporter.Output}");
            }

            output.WriteLine($"READY=1 after {clock.ElapsedMilliseconds} ms");
            Assert.Contains("READY=1", Encoding.UTF8.GetString(buffer, 0, received), StringComparison.Ordinal);

            var metrics = await ScrapeAsync(port, exporter);
            Assert.Contains("qmp_exporter_build_info{", metrics, StringComparison.Ordinal);
            Assert.Contains("qmp_up{vm=\"web1\"} 0", metrics, StringComparison.Ordinal);
            Assert.Contains("qmp_up{vm=\"db1\"} 0", metrics, StringComparison.Ordinal);
        }
        finally
        {
            await StopAsync(exporter);
        }
    }

    /// <summary>The chart's ConfigMap files in /etc/qmp-exporter, DOTNET_ENVIRONMENT the node name, as in the DaemonSet.</summary>
    private async Task ServesTheChartConfigForItsNode(string binary)
    {
        var config = Path.Combine(temp, "chart-config");
        Directory.CreateDirectory(config);
        foreach (var (name, content) in await HelmChartTests.RenderConfigMapAsync("sockets-values.yaml"))
        {
            await File.WriteAllTextAsync(Path.Combine(config, name), content);
        }

        var port = FreePort();
        using var exporter = Start(
            binary,
            ["--contentRoot", config, "--urls", $"http://127.0.0.1:{port}"],
            new Dictionary<string, string> { ["DOTNET_ENVIRONMENT"] = "hv2.example.com", ["DOTNET_USE_POLLING_FILE_WATCHER"] = "true" });
        try
        {
            var metrics = await ScrapeAsync(port, exporter);
            foreach (var vm in new[] { "web1", "legacy", "db2", "build1" })
            {
                Assert.Contains($"qmp_up{{vm=\"{vm}\"}} 0", metrics, StringComparison.Ordinal);
            }

            Assert.DoesNotContain("vm=\"db1\"", metrics, StringComparison.Ordinal);
        }
        finally
        {
            await StopAsync(exporter);
        }
    }

    private static RunningExporter Start(string file, IEnumerable<string> arguments, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new XunitException($"could not start {file}");
        var exporter = new RunningExporter(process);
        process.OutputDataReceived += (_, e) => exporter.Log(e.Data);
        process.ErrorDataReceived += (_, e) => exporter.Log(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return exporter;
    }

    private static async Task StopAsync(RunningExporter exporter)
    {
        if (!exporter.Process.HasExited)
        {
            exporter.Process.Kill(entireProcessTree: true);
        }

        await exporter.Process.WaitForExitAsync();
    }

    /// <summary>GET /metrics once the binary answers; fails early if it exits.</summary>
    private async Task<string> ScrapeAsync(int port, RunningExporter exporter)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (exporter.Process.HasExited)
            {
                throw new XunitException($"the exporter exited with code {exporter.Process.ExitCode} before serving /metrics:\n{exporter.Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var body = await response.Content.ReadAsStringAsync();
                    if (body.Contains("qmp_up{", StringComparison.Ordinal))
                    {
                        output.WriteLine($"/metrics answered after {clock.ElapsedMilliseconds} ms");
                        return body;
                    }
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (clock.Elapsed > StartTimeout)
            {
                throw new XunitException($"/metrics on port {port} did not list qmp_up within {StartTimeout.TotalSeconds} s:\n{exporter.Output}");
            }

            await Task.Delay(50);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"^.*\bwarning [A-Z]+[0-9]+.*$", RegexOptions.Multiline)]
    private static partial Regex WarningLine();

    /// <summary>A started binary and everything it printed.</summary>
    private sealed class RunningExporter(Process process) : IDisposable
    {
        private readonly StringBuilder output = new();

        public Process Process { get; } = process;

        public string Output
        {
            get
            {
                lock (output)
                {
                    return output.ToString();
                }
            }
        }

        public void Log(string? line)
        {
            if (line is not null)
            {
                lock (output)
                {
                    output.AppendLine(line);
                }
            }
        }

        public void Dispose() => Process.Dispose();
    }
}
