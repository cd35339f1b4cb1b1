using QmpExporter.Tests.Support;
using Xunit.Abstractions;

namespace QmpExporter.Tests.Deploy;

/// <summary>
/// scripts/deb.sh's package in a real systemd (a booted Debian 12 container): it installs, creates its user, starts
/// and serves /metrics; `systemctl reload` re-reads appsettings.json in the same process; remove stops it and
/// keeps the conffiles; purge deletes them and the user.
/// </summary>
[Collection(DeployAlone.Name)]
public sealed class DebianPackageTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan ServiceTimeout = TimeSpan.FromSeconds(60);

    private readonly string temp = ScratchDir.CreateTempDirectory("deb");

    public void Dispose() => Directory.Delete(temp, recursive: true);

    [Fact]
    public async Task Installs_starts_reloads_and_purges_under_systemd()
    {
        // The Debian root downloads (first run) while the binary compiles.
        var tarball = BootedDebian.TarballAsync();
        var binary = await ReleaseBinary.GetAsync();
        var build = await ExternalTool.RunCheckedAsync(
            Repository.Path("scripts", "deb.sh"),
            [Path.Combine(temp, "deb")],
            environment: new Dictionary<string, string> { ["QMP_EXPORTER_BINARY"] = binary });
        var deb = Assert.Single(Directory.GetFiles(Path.Combine(temp, "deb")));
        Assert.Matches(@"/qmp-exporter_\d+\.\d+\.\d+_amd64\.deb$", deb);
        output.WriteLine(build.StdOut.Trim());

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var debian = await BootedDebian.BootAsync(await tarball, Path.Combine(temp, "root"));
        output.WriteLine($"root unpacked and booted in {clock.Elapsed.TotalSeconds:F1} s");
        File.Copy(deb, Path.Combine(debian.Root, "root", Path.GetFileName(deb)));

        await debian.RunCheckedAsync("dpkg", "-i", "/root/" + Path.GetFileName(deb));

        await debian.RunCheckedAsync("systemctl", "is-enabled", "qmp-exporter.service");
        await Eventually.Get(() => ServiceState(debian), s => s == "active", "qmp-exporter.service to be active", ServiceTimeout);
        var user = await debian.RunCheckedAsync("getent", "passwd", "qmp-exporter");
        Assert.EndsWith(":/usr/sbin/nologin", user.StdOut.Trim(), StringComparison.Ordinal);
        var metrics = await ScrapeUntil(debian, m => m.Contains("qmp_up{vm=\"db1\"} 0", StringComparison.Ordinal), "the example config's VMs");
        Assert.Contains("qmp_up{vm=\"web1\"} 0", metrics, StringComparison.Ordinal);
        var mainPid = await MainPid(debian);

        // systemctl reload: the same process re-reads appsettings.json.
        var settings = Path.Combine(debian.Root, "etc", "qmp-exporter", "appsettings.json");
        var text = await File.ReadAllTextAsync(settings);
        await File.WriteAllTextAsync(settings, text.Replace(
            "{ \"Name\": \"db1\", \"Socket\": \"/run/qemu/db1.qmp\" }",
            "{ \"Name\": \"db1\", \"Socket\": \"/run/qemu/db1.qmp\" },\n      { \"Name\": \"added\", \"Socket\": \"/run/qemu/added.qmp\" }",
            StringComparison.Ordinal));
        await debian.RunCheckedAsync("systemctl", "reload", "qmp-exporter.service");
        await ScrapeUntil(debian, m => m.Contains("qmp_up{vm=\"added\"} 0", StringComparison.Ordinal), "the VM added before the reload");
        Assert.Equal(mainPid, await MainPid(debian));
        Assert.Equal("active", await ServiceState(debian));
        var journal = await debian.RunCheckedAsync("journalctl", "-u", "qmp-exporter.service", "--no-pager");
        Assert.Contains("SIGHUP: re-reading the configuration", journal.StdOut, StringComparison.Ordinal);

        // remove: stopped, binary and unit gone, conffiles kept (and the edit in them).
        await debian.RunCheckedAsync("apt-get", "remove", "-y", "qmp-exporter");
        Assert.Equal("inactive", await ServiceState(debian));
        Assert.False(File.Exists(Path.Combine(debian.Root, "usr", "bin", "qmp-exporter")));
        Assert.False(File.Exists(Path.Combine(debian.Root, "lib", "systemd", "system", "qmp-exporter.service")));
        Assert.Contains("\"added\"", await File.ReadAllTextAsync(settings), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(debian.Root, "etc", "default", "qmp-exporter")));

        // purge: conffiles, the configuration directory and the user go; the socket group stays.
        await debian.RunCheckedAsync("dpkg", "--purge", "qmp-exporter");
        Assert.False(Directory.Exists(Path.Combine(debian.Root, "etc", "qmp-exporter")));
        Assert.False(File.Exists(Path.Combine(debian.Root, "etc", "default", "qmp-exporter")));
        Assert.Equal(2, (await debian.RunAsync("getent", "passwd", "qmp-exporter")).ExitCode);
        await debian.RunCheckedAsync("getent", "group", "qmp");
        var status = await debian.RunAsync("dpkg-query", "-W", "-f=${Status}", "qmp-exporter");
        Assert.DoesNotContain("installed", status.StdOut.Replace("not-installed", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        output.WriteLine($"package test inside the container: {clock.Elapsed.TotalSeconds:F1} s");
    }

    private static async Task<string> ServiceState(BootedDebian debian) =>
        (await debian.RunAsync("systemctl", "is-active", "qmp-exporter.service")).StdOut.Trim();

    private static async Task<string> MainPid(BootedDebian debian)
    {
        var pid = (await debian.RunCheckedAsync("systemctl", "show", "-p", "MainPID", "--value", "qmp-exporter.service")).StdOut.Trim();
        Assert.Matches("^[1-9][0-9]*$", pid);
        return pid;
    }

    /// <summary>GET /metrics on the container's loopback (the unit's default *:9719) until it shows what is awaited.</summary>
    private static Task<string> ScrapeUntil(BootedDebian debian, Func<string, bool> done, string what) =>
        Eventually.Get(
            async () => (await debian.RunInNetworkAsync("curl", "-sS", "--max-time", "5", "http://127.0.0.1:9719/metrics")).Output,
            done,
            what + " on /metrics",
            ServiceTimeout);
}
