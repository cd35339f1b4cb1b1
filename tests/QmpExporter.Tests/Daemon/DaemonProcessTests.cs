using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using QmpExporter.Configuration;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Daemon;

/// <summary>
/// The daemon as an operator meets it: --help, --version, a typo, signals, a port in use, a bad certificate, and the
/// log lines, all from the real process's exit code and output.
/// </summary>
public sealed partial class DaemonProcessTests : IDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly DirectoryInfo temp = Directory.CreateTempSubdirectory("qmpx-daemon-");

    public void Dispose() => temp.Delete(recursive: true);

    [Fact]
    public async Task Help_lists_every_option_and_the_configuration_keys_and_exits_0()
    {
        await using var exporter = await ExporterProcess.RunAsync("--help");

        Assert.Equal(0, exporter.Process.ExitCode);
        Assert.Empty(exporter.StdErr);
        foreach (var option in ExporterCommandLine.Options.Select(o => o.Name).Append("--version").Append("--help"))
        {
            Assert.Contains(option, exporter.Output, StringComparison.Ordinal);
        }

        Assert.Contains("--Section:Key=VALUE", exporter.Output, StringComparison.Ordinal);
        Assert.Contains("--vm <NAME=SOCKET>", exporter.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_prints_the_version_and_git_revision_and_exits_0()
    {
        await using var exporter = await ExporterProcess.RunAsync("--version");

        Assert.Equal(0, exporter.Process.ExitCode);
        var line = Assert.Single(exporter.Lines);
        Assert.Matches(@"^qmp-exporter \d+\.\d+\.\d+\S* \(revision [0-9a-f]{40}, \.NET \d+\.\d+\.\d+\)$", line);
    }

    [Theory]
    [InlineData("--bogus", "--urls", "http://127.0.0.1:0")]
    [InlineData("--urls", "http://127.0.0.1:0", "--bogus=1")]
    [InlineData("--help-me")]
    public async Task An_unknown_option_is_one_line_naming_it_and_exit_code_2(params string[] args)
    {
        await using var exporter = await ExporterProcess.RunAsync(args);

        Assert.Equal(2, exporter.Process.ExitCode);
        var line = Assert.Single(exporter.Lines);
        var name = args.First(a => a.StartsWith("--b", StringComparison.Ordinal) || a == "--help-me").Split('=')[0];
        Assert.Equal($"qmp-exporter: unknown option '{name}' (see --help)", line);
    }

    [Fact]
    public async Task SIGHUP_rereads_the_configuration_and_never_ends_the_process_and_SIGTERM_stops_it_cleanly()
    {
        var settings = Path.Combine(temp.FullName, "appsettings.json");
        WriteVms(settings, "web1");
        // No file watching: only the signal can make the exporter see the edit.
        await using var exporter = ExporterProcess.Start(["--contentRoot", temp.FullName, "--urls", "http://127.0.0.1:0", "--hostBuilder:reloadConfigOnChange=false"]);
        var address = await exporter.ListeningAsync();
        await Eventually.Get(() => MetricsAsync(address), m => m.Contains("qmp_up{vm=\"web1\"} 0", StringComparison.Ordinal), "web1 in /metrics");

        WriteVms(settings, "web1", "web2");
        await exporter.Signal("HUP");
        await Eventually.Get(() => MetricsAsync(address), m => m.Contains("qmp_up{vm=\"web2\"} 0", StringComparison.Ordinal), "web2 in /metrics after SIGHUP");

        WriteVms(settings, "web3");
        await exporter.Signal("HUP");
        var metrics = await Eventually.Get(() => MetricsAsync(address), m => m.Contains("qmp_up{vm=\"web3\"} 0", StringComparison.Ordinal), "web3 in /metrics after a second SIGHUP");
        Assert.DoesNotContain("vm=\"web2\"", metrics, StringComparison.Ordinal);
        Assert.False(exporter.Process.HasExited);
        Assert.Equal(2, exporter.Lines.Count(l => l.Contains("SIGHUP", StringComparison.Ordinal)));

        await exporter.Signal("TERM");
        Assert.Equal(0, await exporter.WaitForExitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_port_in_use_is_one_line_and_exit_code_1()
    {
        using var taken = new TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;

        await using var exporter = await ExporterProcess.RunAsync("--urls", $"http://127.0.0.1:{port}", "--vm", "web1=/run/none.qmp");

        Assert.Equal(1, exporter.Process.ExitCode);
        var line = Assert.Single(exporter.StdErr, l => !l.StartsWith("ts=", StringComparison.Ordinal));
        Assert.Equal($"qmp-exporter: cannot listen: Failed to bind to address http://127.0.0.1:{port}: address already in use.", line);
        Assert.DoesNotContain(exporter.Lines, l => l.Contains(" at ", StringComparison.Ordinal) || l.Contains("Exception", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unreadable_certificate_is_one_line_and_exit_code_1()
    {
        var cert = Path.Combine(temp.FullName, "server.crt");
        await File.WriteAllTextAsync(cert, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
        await File.WriteAllTextAsync(Path.Combine(temp.FullName, "server.key"), "not a key\n");
        var config = Path.Combine(temp.FullName, "web.yml");
        await File.WriteAllTextAsync(config, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");

        await using var exporter = await ExporterProcess.RunAsync("--web.config.file", config, "--urls", "https://127.0.0.1:0");

        Assert.Equal(1, exporter.Process.ExitCode);
        var line = Assert.Single(exporter.Lines);
        Assert.StartsWith($"qmp-exporter: cannot load the TLS certificate {cert} with key ", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", "tls_server_config.cipher_suites is not supported")]
    [InlineData("basic_auth_users:\n  prom: secret\n", "basic_auth_users.prom is not a bcrypt hash")]
    [InlineData("http_server_config:\n  headers:\n    Set-Cookie: a=b\n", "http_server_config.headers.Set-Cookie is not supported")]
    [InlineData("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: TLS14\n", "tls_server_config.min_version 'TLS14'")]
    public async Task An_unsupported_web_config_key_or_value_is_named_and_exit_code_2(string yaml, string message)
    {
        var config = Path.Combine(temp.FullName, "web.yml");
        await File.WriteAllTextAsync(config, yaml);

        await using var exporter = await ExporterProcess.RunAsync("--web.config.file", config);

        Assert.Equal(2, exporter.Process.ExitCode);
        Assert.Equal($"qmp-exporter: web config {config}: {message}", Assert.Single(exporter.Lines)[..($"qmp-exporter: web config {config}: ".Length + message.Length)]);
    }

    /// <summary>No appsettings.json anywhere: the defaults alone log no line at Information for requests.</summary>
    [Fact]
    public async Task Logs_are_one_logfmt_line_per_entry_with_a_timestamp_and_scrapes_log_nothing()
    {
        await using var exporter = ExporterProcess.Start(["--contentRoot", temp.FullName, "--urls", "http://127.0.0.1:0", "--vm", "web1=/run/qmpx-none/web1.qmp"]);
        var address = await exporter.ListeningAsync();
        await Eventually.True(() => exporter.Lines.Any(l => l.Contains("level=warn", StringComparison.Ordinal)), "the warning about web1's missing socket");
        var before = exporter.Lines.Count;
        for (var i = 0; i < 5; i++)
        {
            await MetricsAsync(address);
            await Http.GetStringAsync(new Uri(address, "/healthz"));
            await Http.GetStringAsync(address);
        }

        await exporter.Signal("TERM");
        await exporter.WaitForExitAsync(TimeSpan.FromSeconds(10));

        Assert.All(exporter.Lines, line => Assert.Matches(LogfmtLine(), line));
        var afterScrapes = exporter.Lines.Skip(before).Where(l => l.Contains("level=info", StringComparison.Ordinal)).ToList();
        Assert.All(afterScrapes, line => Assert.Contains("logger=Microsoft.Hosting.Lifetime", line, StringComparison.Ordinal));
        Assert.Contains(exporter.Lines, l => l.Contains("level=warn logger=QmpExporter.Hosting.VmSession msg=\"VM web1: cannot connect", StringComparison.Ordinal) && l.Contains(" vm=web1 ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Json_logs_are_one_object_per_line()
    {
        await using var exporter = ExporterProcess.Start(["--log.format=json", "--contentRoot", temp.FullName, "--urls", "http://127.0.0.1:0", "--vm", "web1=/run/qmpx-none/web1.qmp"]);
        await exporter.ListeningAsync();
        await Eventually.True(() => exporter.Lines.Any(l => l.Contains("\"warn\"", StringComparison.Ordinal)), "the warning about web1's missing socket");

        foreach (var line in exporter.Lines)
        {
            using var entry = JsonDocument.Parse(line);
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", entry.RootElement.GetProperty("ts").GetString());
            Assert.Contains(entry.RootElement.GetProperty("level").GetString(), (string[])["debug", "info", "warn", "error", "critical"]);
            Assert.False(string.IsNullOrEmpty(entry.RootElement.GetProperty("msg").GetString()));
        }

        var warning = exporter.Lines.Select(l => JsonDocument.Parse(l).RootElement).First(e => e.GetProperty("level").GetString() == "warn");
        Assert.Equal("web1", warning.GetProperty("vm").GetString());
    }

    /// <summary>
    /// Under systemd each line starts with its syslog priority, which journald takes as the entry's priority. .NET
    /// detects systemd by its parent's name, so the exporter runs under a copy of bash named systemd.
    /// </summary>
    [Fact]
    public async Task Under_systemd_each_line_carries_its_journald_priority()
    {
        var fakeSystemd = Path.Combine(temp.FullName, "systemd");
        File.Copy(ExternalTool.Find("bash"), fakeSystemd);
        await using var exporter = ExporterProcess.Start(
            ["--contentRoot", temp.FullName, "--urls", "http://127.0.0.1:0", "--vm", "web1=/run/qmpx-none/web1.qmp"],
            launcher: fakeSystemd,
            launcherArguments: ["-c", "\"$0\" \"$@\" & wait"]);
        await Eventually.True(() => exporter.Lines.Any(l => l.StartsWith("<4>", StringComparison.Ordinal)), "a warning at priority 4");

        Assert.All(exporter.Lines, line => Assert.Matches(@"^<[2-7]>ts=", line));
        Assert.Contains(exporter.Lines, l => l.StartsWith("<6>ts=", StringComparison.Ordinal) && l.Contains("level=info", StringComparison.Ordinal));
        Assert.All(exporter.Lines.Where(l => l.StartsWith("<4>", StringComparison.Ordinal)), l => Assert.Contains(" level=warn ", l, StringComparison.Ordinal));
    }

    private static void WriteVms(string file, params string[] names)
    {
        var json = JsonSerializer.Serialize(new { QmpExporter = new { Vms = names.Select(n => new { Name = n, Socket = $"/run/qmpx-none/{n}.qmp" }) } });
        File.WriteAllText(file + ".tmp", json);
        File.Move(file + ".tmp", file, overwrite: true);
    }

    private static Task<string> MetricsAsync(Uri address) => Http.GetStringAsync(new Uri(address, "/metrics"));

    [GeneratedRegex(@"^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(debug|info|warn|error|critical) logger=\S+ msg=")]
    private static partial Regex LogfmtLine();
}
