using QmpExporter.Tests.Operations;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Daemon;

/// <summary>
/// --web.config.file with TLS and basic auth, against the real process: a real Prometheus scrapes it over TLS with
/// basic_auth, curl checks it against a CA the test makes with openssl, a renewed certificate is served without a
/// restart, and client certificates are enforced.
/// </summary>
public sealed class WebConfigTests : IAsyncLifetime
{
    private const string User = "prometheus";
    private const string Password = "s3cret pass";

    private readonly DirectoryInfo temp = Directory.CreateTempSubdirectory("qmpx-tls-");
    private TestCertificates certificates = null!;
    private string config = "";

    public async Task InitializeAsync()
    {
        certificates = new TestCertificates(temp.FullName);
        await certificates.CreateCaAsync();
        await certificates.IssueAsync("server", "qmp-exporter one");
        config = Path.Combine(temp.FullName, "web.yml");
        await WriteConfigAsync(BCrypt.Net.BCrypt.HashPassword(Password, 10));
    }

    public Task DisposeAsync()
    {
        temp.Delete(recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Prometheus_scrapes_over_TLS_with_basic_auth_and_a_wrong_password_gets_401()
    {
        await using var exporter = StartExporter();
        var address = await exporter.ListeningAsync();
        Assert.Equal("https", address.Scheme);
        var target = $"127.0.0.1:{address.Port}";

        await using var prometheus = await PrometheusServer.StartAsync(temp.FullName, $$"""
            global: { scrape_interval: 1s }
            scrape_configs:
              - job_name: qmp
                scheme: https
                tls_config: { ca_file: {{certificates.CaFile}} }
                basic_auth: { username: {{User}}, password: "{{Password}}" }
                static_configs: [ { targets: ["{{target}}"] } ]
              - job_name: wrong-password
                scheme: https
                tls_config: { ca_file: {{certificates.CaFile}} }
                basic_auth: { username: {{User}}, password: wrong }
                static_configs: [ { targets: ["{{target}}"] } ]
            """);

        await Eventually.Get(() => prometheus.QueryAsync("qmp_exporter_build_info{job=\"qmp\"} == 1"), r => r.GetArrayLength() == 1, "Prometheus to scrape build_info over TLS", TimeSpan.FromSeconds(30));
        var wrong = await Eventually.Get(() => prometheus.QueryAsync("up{job=\"wrong-password\"}"), r => r.GetArrayLength() == 1, "Prometheus to try the wrong password", TimeSpan.FromSeconds(30));
        Assert.Equal("0", wrong[0].GetProperty("value")[1].GetString());
        var good = await prometheus.QueryAsync("up{job=\"qmp\"}");
        Assert.Equal("1", good[0].GetProperty("value")[1].GetString());

        var status = await CurlStatusAsync(address, "/metrics", "-u", $"{User}:wrong");
        Assert.Equal("401", status);
    }

    [Fact]
    public async Task Curl_verifies_the_certificate_against_the_test_CA_and_every_path_needs_the_password()
    {
        await using var exporter = StartExporter();
        var address = await exporter.ListeningAsync();

        var metrics = await ExternalTool.RunCheckedAsync("curl", ["-sS", "--fail", "--cacert", certificates.CaFile, "-u", $"{User}:{Password}", new Uri(address, "/metrics").ToString()]);
        Assert.Contains("qmp_exporter_build_info{", metrics.StdOut, StringComparison.Ordinal);

        foreach (var path in new[] { "/metrics", "/", "/healthz" })
        {
            Assert.Equal("401", await CurlStatusAsync(address, path));
            Assert.Equal("401", await CurlStatusAsync(address, path, "-u", $"{User}:wrong"));
            Assert.Equal("401", await CurlStatusAsync(address, path, "-u", $"nobody:{Password}"));
            Assert.Equal("200", await CurlStatusAsync(address, path, "-u", $"{User}:{Password}"));
        }

        var headers = await ExternalTool.RunCheckedAsync("curl", ["-sS", "-D", "-", "-o", "/dev/null", "--cacert", certificates.CaFile, new Uri(address, "/").ToString()]);
        Assert.Contains("x-frame-options: deny", headers.StdOut, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("www-authenticate: Basic", headers.StdOut, StringComparison.OrdinalIgnoreCase);

        // Without the test CA curl cannot trust the certificate: it is verified, not waved through.
        var untrusted = await ExternalTool.RunAsync("curl", ["-sS", "-u", $"{User}:{Password}", new Uri(address, "/metrics").ToString()]);
        Assert.Equal(60, untrusted.ExitCode);
    }

    [Fact]
    public async Task A_renewed_certificate_is_served_without_a_restart_and_SIGHUP_rereads_the_users()
    {
        await using var exporter = StartExporter();
        var address = await exporter.ListeningAsync();
        Assert.Contains("CN=qmp-exporter one", await ServedSubjectAsync(address), StringComparison.Ordinal);

        // Renew as certbot or cert-manager would: new files in place of the old ones.
        var staging = new TestCertificates(temp.FullName);
        var (cert, key) = await staging.IssueAsync("renewed", "qmp-exporter two");
        File.Move(key, Path.Combine(temp.FullName, "server.key"), overwrite: true);
        File.Move(cert, Path.Combine(temp.FullName, "server.crt"), overwrite: true);
        await Eventually.Get(() => ServedSubjectAsync(address), s => s.Contains("CN=qmp-exporter two", StringComparison.Ordinal), "the renewed certificate to be served");

        await WriteConfigAsync(BCrypt.Net.BCrypt.HashPassword("next password", 10));
        await exporter.Signal("HUP");
        await Eventually.Get(() => CurlStatusAsync(address, "/metrics", "-u", $"{User}:next password"), s => s == "200", "the new password after SIGHUP");
        Assert.Equal("401", await CurlStatusAsync(address, "/metrics", "-u", $"{User}:{Password}"));
        Assert.False(exporter.Process.HasExited);
    }

    [Fact]
    public async Task RequireAndVerifyClientCert_lets_in_only_clients_with_a_certificate_from_the_client_CA()
    {
        var (clientCert, clientKey) = await certificates.IssueAsync("client", "prometheus", client: true);
        await File.WriteAllTextAsync(config, $"""
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: ca.crt
              min_version: TLS13
            """);
        await using var exporter = StartExporter();
        var address = await exporter.ListeningAsync();
        var url = new Uri(address, "/metrics").ToString();

        var withCert = await ExternalTool.RunCheckedAsync("curl", ["-sS", "--fail", "--cacert", certificates.CaFile, "--cert", clientCert, "--key", clientKey, url]);
        Assert.Contains("qmp_exporter_build_info{", withCert.StdOut, StringComparison.Ordinal);

        var withoutCert = await ExternalTool.RunAsync("curl", ["-sS", "--fail", "--cacert", certificates.CaFile, url]);
        Assert.NotEqual(0, withoutCert.ExitCode);
        Assert.DoesNotContain("qmp_exporter_build_info", withoutCert.StdOut, StringComparison.Ordinal);

        var otherCa = new TestCertificates(Directory.CreateDirectory(Path.Combine(temp.FullName, "other")).FullName);
        await otherCa.CreateCaAsync();
        var (strangerCert, strangerKey) = await otherCa.IssueAsync("stranger", "stranger", client: true);
        var stranger = await ExternalTool.RunAsync("curl", ["-sS", "--fail", "--cacert", certificates.CaFile, "--cert", strangerCert, "--key", strangerKey, url]);
        Assert.NotEqual(0, stranger.ExitCode);

        var tls12 = await ExternalTool.RunAsync("curl", ["-sS", "--tls-max", "1.2", "--cacert", certificates.CaFile, "--cert", clientCert, "--key", clientKey, url]);
        Assert.NotEqual(0, tls12.ExitCode);
    }

    private ExporterProcess StartExporter() =>
        ExporterProcess.Start(["--web.config.file", config, "--urls", "https://127.0.0.1:0", "--contentRoot", temp.FullName]);

    private Task WriteConfigAsync(string hash) => File.WriteAllTextAsync(config, $"""
        # exporter-toolkit web configuration; paths relative to this file
        tls_server_config:
          cert_file: server.crt
          key_file: server.key
        basic_auth_users:
          {User}: '{hash}'
        http_server_config:
          headers:
            X-Frame-Options: deny
        """);

    private async Task<string> CurlStatusAsync(Uri address, string path, params string[] extra)
    {
        var result = await ExternalTool.RunCheckedAsync("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", certificates.CaFile, .. extra, new Uri(address, path).ToString()]);
        return result.StdOut;
    }

    /// <summary>The subject of the certificate a new TLS connection gets.</summary>
    private static async Task<string> ServedSubjectAsync(Uri address)
    {
        string subject = "";
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            {
                subject = certificate?.Subject ?? "";
                return true;
            },
        };
        using var http = new HttpClient(handler);
        using var response = await http.GetAsync(new Uri(address, "/healthz"));
        return subject;
    }
}
