using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace QmpExporter.Benchmarks;

/// <summary>
/// <c>dial-in [--exporter PATH] [--qemus N] [--rounds N]</c>: N fake QEMUs dial in to one exporter process (by default
/// the NativeAOT binary scripts/publish.sh builds) on its listening socket, as real ones do with a client chardev.
/// Per round, a fresh (cold) exporter: how fast all N are negotiated and up, the exporter's RSS with them connected,
/// and the <c>/metrics</c> latency (p50 of 30 scrapes, each rendered anew). Median and spread over the rounds; nothing is asserted except
/// that every VM came up.
/// </summary>
internal static class DialInBench
{
    private const int Scrapes = 30;
    private static readonly byte[] Greeting = Encoding.UTF8.GetBytes(
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}\r\n");

    public static async Task<int> RunAsync(string[] args)
    {
        var exporter = Path.GetFullPath("artifacts/aot/qmp-exporter");
        int qemus = 1000, rounds = 3;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--exporter": exporter = Path.GetFullPath(args[i + 1]); break;
                case "--qemus": qemus = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }

        Console.WriteLine($"dial-in: {qemus} fake QEMUs, {rounds} rounds, exporter {exporter}, load average {Proc.LoadAverage()}, {Environment.ProcessorCount} cores");
        var results = new List<(double UpSeconds, double Rate, long RssBytes, double P50Ms, int Bytes)>();
        for (var round = 1; round <= rounds; round++)
        {
            var r = await RoundAsync(exporter, qemus);
            results.Add(r);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round}: all up in {r.UpSeconds:0.00} s ({r.Rate:0} VMs/s), RSS {r.RssBytes / 1048576.0:0.0} MiB, /metrics p50 {r.P50Ms:0.0} ms ({r.Bytes / 1024} KiB)"));
        }

        static string Summary(IEnumerable<double> values, string format)
        {
            var sorted = values.Order().ToArray();
            return string.Create(CultureInfo.InvariantCulture, $"{sorted[sorted.Length / 2].ToString(format, CultureInfo.InvariantCulture)} (min {sorted[0].ToString(format, CultureInfo.InvariantCulture)}, max {sorted[^1].ToString(format, CultureInfo.InvariantCulture)})");
        }

        Console.WriteLine($"median over {rounds}: accept+negotiate {Summary(results.Select(r => r.Rate), "0")} VMs/s, " +
                          $"RSS {Summary(results.Select(r => r.RssBytes / 1048576.0), "0.0")} MiB, /metrics p50 {Summary(results.Select(r => r.P50Ms), "0.0")} ms");
        return 0;
    }

    private static async Task<(double UpSeconds, double Rate, long RssBytes, double P50Ms, int Bytes)> RoundAsync(string exporterPath, int qemus)
    {
        var dir = Directory.CreateTempSubdirectory("qmpd-").FullName;
        var socketPath = Path.Combine(dir, "qmp.sock");
        var port = FreePort();
        var start = new ProcessStartInfo(exporterPath) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["--listen", socketPath, "--urls", $"http://127.0.0.1:{port}", "--Logging:LogLevel:Default=Warning"])
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        using var stop = new CancellationTokenSource();
        var fakes = new List<Task>();
        try
        {
            while (!File.Exists(socketPath))
            {
                await Task.Delay(20);
            }

            var clock = Stopwatch.StartNew();
            for (var i = 0; i < qemus; i++)
            {
                fakes.Add(FakeQemuAsync(socketPath, i, stop.Token));
            }

            while (CountUp(await http.GetStringAsync("/metrics")) < qemus)
            {
                await Task.Delay(100);
            }

            var up = clock.Elapsed.TotalSeconds;
            await Task.Delay(2000);
            var rss = ReadRss(process.Id);
            var latencies = new List<double>();
            var bytes = 0;
            for (var i = 0; i < Scrapes; i++)
            {
                // Past the OpenTelemetry exporter's 300 ms response cache: every scrape measured is rendered anew, as
                // Prometheus's (seconds apart) are.
                await Task.Delay(400);
                var t = Stopwatch.StartNew();
                bytes = (await http.GetStringAsync("/metrics")).Length;
                latencies.Add(t.Elapsed.TotalMilliseconds);
            }

            latencies.Sort();
            return (up, qemus / up, rss, latencies[latencies.Count / 2], bytes);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
            await stop.CancelAsync();
            await Task.WhenAll(fakes.Select(f => f.ContinueWith(_ => { }, TaskScheduler.Default)));
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: /tmp is cleaned anyway.
            }
        }
    }

    /// <summary>A guest-less QEMU's monitor as the exporter sees it: greeting, then an answer to every command.</summary>
    private static async Task FakeQemuAsync(string socketPath, int index, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
        await using var stream = new NetworkStream(socket);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        await stream.WriteAsync(Greeting, cancellationToken);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            using var command = JsonDocument.Parse(line);
            var name = command.RootElement.GetProperty("execute").GetString();
            var id = command.RootElement.TryGetProperty("id", out var i) ? i.GetRawText() : "null";
            var result = name switch
            {
                "query-name" => $"{{\"name\": \"fake-{index}\"}}",
                "query-uuid" => "{\"UUID\": \"00000000-0000-0000-0000-000000000000\"}",
                "query-version" => "{\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}",
                "query-status" => "{\"status\": \"running\", \"singlestep\": false, \"running\": true}",
                "query-block" or "query-block-jobs" or "query-blockstats" => "[]",
                _ => "{}",
            };
            await stream.WriteAsync(Encoding.UTF8.GetBytes($"{{\"return\": {result}, \"id\": {id}}}\r\n"), cancellationToken);
        }
    }

    private static int CountUp(string metrics) =>
        metrics.Split('\n').Count(l => l.StartsWith("qmp_up{", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));

    private static long ReadRss(int pid) =>
        File.ReadLines($"/proc/{pid}/status").Where(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024).First();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
