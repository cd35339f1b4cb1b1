using System.Globalization;
using System.Text.RegularExpressions;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Deploy;

/// <summary>deploy/systemd: the unit verifies cleanly, is hardened, and its user and group can be created.</summary>
public sealed partial class SystemdUnitTests : IDisposable
{
    private const string InstalledExecStart = "ExecStart=/usr/bin/qmp-exporter ";

    private readonly string temp = ScratchDir.CreateTempDirectory("systemd");

    private static string UnitFile => Path.Combine(Repository.SystemdDir, "qmp-exporter.service");

    public void Dispose() => Directory.Delete(temp, recursive: true);

    [Fact]
    public async Task Verify_prints_nothing()
    {
        // verify fails on an ExecStart binary that does not exist: check a copy pointing at one that does.
        var unit = await File.ReadAllTextAsync(UnitFile);
        Assert.Single(Regex.Matches(unit, "^" + Regex.Escape(InstalledExecStart), RegexOptions.Multiline));
        var existing = File.Exists("/usr/bin/true") ? "/usr/bin/true" : "/bin/true";
        var copy = Path.Combine(temp, "qmp-exporter.service");
        await File.WriteAllTextAsync(copy, unit.Replace(InstalledExecStart, $"ExecStart={existing} ", StringComparison.Ordinal));

        // Unknown keys and bad values are only warnings (exit code 0), so any output is a failure.
        var result = await ExternalTool.RunAsync("systemd-analyze", ["verify", copy]);

        Assert.True(result.ExitCode == 0 && result.Output.Length == 0, $"systemd-analyze verify must print nothing:\n{result}");
    }

    [Fact]
    public async Task Security_exposure_is_at_most_2_0()
    {
        var result = await ExternalTool.RunCheckedAsync("systemd-analyze", ["security", "--offline=true", "--threshold=20", UnitFile]);

        var match = ExposureLine().Match(result.StdOut);
        Assert.True(match.Success, $"no 'Overall exposure level' line:\n{result}");
        var exposure = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(exposure <= 2.0, $"exposure {exposure} is above 2.0:\n{result}");
    }

    [Fact]
    public async Task Sysusers_file_creates_the_user_and_the_socket_group()
    {
        var root = Path.Combine(temp, "root");
        Directory.CreateDirectory(Path.Combine(root, "etc"));

        await ExternalTool.RunCheckedAsync("systemd-sysusers", ["--root=" + root, Path.Combine(Repository.SystemdDir, "qmp-exporter.sysusers")]);

        var passwd = await File.ReadAllLinesAsync(Path.Combine(root, "etc", "passwd"));
        var group = await File.ReadAllLinesAsync(Path.Combine(root, "etc", "group"));
        var user = Assert.Single(passwd, l => l.StartsWith("qmp-exporter:", StringComparison.Ordinal));
        Assert.EndsWith(":/usr/sbin/nologin", user, StringComparison.Ordinal);
        Assert.Single(group, l => l.StartsWith("qmp:", StringComparison.Ordinal));
        Assert.Single(group, l => l.StartsWith("qmp-exporter:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unit_runs_the_installed_binary_with_the_documented_config()
    {
        var unit = await File.ReadAllTextAsync(UnitFile);

        Assert.Contains("\nType=notify\n", unit, StringComparison.Ordinal);
        Assert.Contains("\nExecStart=/usr/bin/qmp-exporter --contentRoot /etc/qmp-exporter $ARGS\n", unit, StringComparison.Ordinal);
        Assert.Contains("\nEnvironmentFile=-/etc/default/qmp-exporter\n", unit, StringComparison.Ordinal);
        Assert.Contains("\nARGS=\"\"\n", await File.ReadAllTextAsync(Path.Combine(Repository.SystemdDir, "qmp-exporter.default")), StringComparison.Ordinal);
        Assert.Contains("\nExecReload=/bin/kill -HUP $MAINPID\n", unit, StringComparison.Ordinal);
        Assert.Contains("\nUser=qmp-exporter\n", unit, StringComparison.Ordinal);
        Assert.Contains("\nSupplementaryGroups=qmp\n", unit, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"Overall exposure level for \S+: (\d+\.\d+)")]
    private static partial Regex ExposureLine();
}
