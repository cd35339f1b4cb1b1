using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using QmpExporter.Tests.Support;
using Xunit.Sdk;

namespace QmpExporter.Tests.Operations;

/// <summary>
/// A real Prometheus (Debian's prometheus binary) on a loopback port with its storage in a temp dir, started and
/// killed by the test (only the process it started). Queried through the HTTP API, as Grafana does.
/// </summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly Process process;
    private readonly StringBuilder log;

    private PrometheusServer(Process process, StringBuilder log, Uri baseAddress)
    {
        this.process = process;
        this.log = log;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    /// <summary>Everything Prometheus printed so far.</summary>
    public string Log
    {
        get
        {
            lock (log)
            {
                return log.ToString();
            }
        }
    }

    /// <summary>Writes <paramref name="configYaml"/> to <paramref name="directory"/>/prometheus.yml and starts Prometheus until /-/ready.</summary>
    public static async Task<PrometheusServer> StartAsync(string directory, string configYaml)
    {
        var binary = ExternalTool.Find("prometheus");
        var config = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, configYaml);
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            // A free port can be taken between probing and binding: start again on another one.
            var port = FreePort();
            var start = new ProcessStartInfo(binary)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = directory,
            };
            foreach (var argument in (string[])[
                $"--config.file={config}",
                $"--storage.tsdb.path={Path.Combine(directory, $"data{attempt}")}",
                $"--web.listen-address=127.0.0.1:{port}",
            ])
            {
                start.ArgumentList.Add(argument);
            }

            var log = new StringBuilder();
            var process = Process.Start(start) ?? throw new InvalidOperationException("could not start prometheus");
            process.OutputDataReceived += (_, e) => Append(log, e.Data);
            process.ErrorDataReceived += (_, e) => Append(log, e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new PrometheusServer(process, log, new Uri($"http://127.0.0.1:{port}/"));
            try
            {
                await server.WaitReadyAsync();
                return server;
            }
            catch (InvalidOperationException e)
            {
                last = e;
                await server.DisposeAsync();
                if (!server.Log.Contains("address already in use", StringComparison.Ordinal))
                {
                    break;
                }
            }
        }

        throw new XunitException($"prometheus did not come up: {last?.Message}");
    }

    /// <summary>An instant query; the <c>data.result</c> array. A query Prometheus rejects fails the test with its error.</summary>
    public async Task<JsonElement> QueryAsync(string promql)
    {
        var uri = new Uri(BaseAddress, "api/v1/query?query=" + Uri.EscapeDataString(promql));
        using var response = await Http.GetAsync(uri);
        var body = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (root.GetProperty("status").GetString() != "success")
        {
            throw new XunitException($"Prometheus rejected {promql}: {body}");
        }

        var data = root.GetProperty("data");
        var result = data.GetProperty("result");
        return data.GetProperty("resultType").GetString() is "vector" or "matrix"
            ? result.Clone()
            : JsonDocument.Parse($"[{result.GetRawText()}]").RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Already reaped.
        }

        process.Dispose();
    }

    private static void Append(StringBuilder log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task WaitReadyAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"prometheus exited with {process.ExitCode}:\n{Log}");
            }

            try
            {
                using var response = await Http.GetAsync(new Uri(BaseAddress, "-/ready"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(50);
        }

        throw new InvalidOperationException($"prometheus was not ready within 20 s:\n{Log}");
    }
}
