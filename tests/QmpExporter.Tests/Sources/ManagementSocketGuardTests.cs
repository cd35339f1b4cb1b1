using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Sources;

/// <summary>
/// The daemon (the built qmp-exporter, run as a process) refuses to start on another manager's monitor: exit code 2,
/// a message that names the key, says whose monitor it is and what to do instead.
/// </summary>
public sealed class ManagementSocketGuardTests
{
    public static TheoryData<string[], string, string> Refused => new()
    {
        { ["--vm", "web=/var/lib/libvirt/qemu/domain-1-web/monitor.sock"], "QmpExporter:Vms:10000:Socket", "libvirt's own monitor" },
        { ["--vm", "web=unix:/run/libvirt/qemu/web.monitor"], "QmpExporter:Vms:10000:Socket", "libvirt's own monitor" },
        { ["--vm", "vm100=/run/qemu-server/100.qmp"], "QmpExporter:Vms:10000:Socket", "Proxmox's own monitor" },
        { ["--vm", "vm100=/var/run/qemu-server/100.qmp"], "QmpExporter:Vms:10000:Socket", "Proxmox's own monitor" },
        { ["--vm", "q=/var/run/qmeventd.sock"], "QmpExporter:Vms:10000:Socket", "qmeventd socket" },
        { ["--discover", "/run/qemu-server/*.qmp"], "QmpExporter:Discover:Globs:10000", "Proxmox's own monitor" },
        { ["--discover", "/var/lib/libvirt/qemu/domain-1-web/*.sock"], "QmpExporter:Discover:Globs:10000", "libvirt's own monitor" },
        { ["--listen", "/var/run/qmeventd.sock"], "QmpExporter:Listen:Path", "qmeventd socket" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_management_monitor_is_refused_at_start_with_exit_code_2(string[] args, string key, string owner)
    {
        var result = await RunExporterAsync([.. args, "--urls", "http://127.0.0.1:0"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(key, result.StdErr, StringComparison.Ordinal);
        Assert.Contains(owner, result.StdErr, StringComparison.Ordinal);
        Assert.Contains(key.StartsWith("QmpExporter:Listen", StringComparison.Ordinal) ? "Listen on a path of the exporter's own" : "QmpExporter:Listen:Path instead", result.StdErr, StringComparison.Ordinal);
        Assert.Contains(key.StartsWith("QmpExporter:Listen", StringComparison.Ordinal) ? "/run/qmp-exporter/qmp.sock" : "AllowManagementSockets=true", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllowManagementSockets_lets_such_a_socket_through_the_start_up_check()
    {
        var result = await RunExporterAsync(["--vm", "vm100=/run/qemu-server/100.qmp", "--QmpExporter:AllowManagementSockets=true", "--QmpExporter:MaxLineBytes=10", "--urls", "http://127.0.0.1:0"]);

        // Only the deliberate bad limit fails: the socket passed.
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("QmpExporter:MaxLineBytes must be between 1024 and", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("qemu-server", result.StdErr, StringComparison.Ordinal);
    }

    /// <summary>The daemon as built beside the tests (qmp-exporter.dll), through the dotnet host.</summary>
    private static Task<ToolResult> RunExporterAsync(string[] args) =>
        ExternalTool.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "qmp-exporter.dll"), .. args], timeout: TimeSpan.FromSeconds(60));
}
