using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Operations;

/// <summary>deploy/alertmanager/alertmanager.example.yml: valid for amtool, and routes each severity where it says.</summary>
public sealed class AlertmanagerConfigTests
{
    [Fact]
    public async Task Amtool_check_config_accepts_the_example()
    {
        var result = await ExternalTool.RunCheckedAsync("amtool", ["check-config", Repository.AlertmanagerFile]);

        Assert.True(result.Output.Contains("SUCCESS", StringComparison.Ordinal), result.ToString());
    }

    [Theory]
    [InlineData("QemuGuestPanicked", "critical", "oncall-pager")]
    [InlineData("QemuVmPausedOnIoError", "critical", "oncall-pager")]
    [InlineData("QemuBlockIoErrors", "warning", "ops-chat")]
    [InlineData("QmpProtocolErrors", "info", "null")]
    [InlineData("SomethingElse", "", "team-default")]
    public async Task Routes_send_each_severity_to_its_receiver(string alertname, string severity, string receiver)
    {
        List<string> labels = [$"alertname={alertname}", "vm=web1", "instance=host1:9719"];
        if (severity.Length > 0)
        {
            labels.Add($"severity={severity}");
        }

        var result = await ExternalTool.RunAsync("amtool",
            ["config", "routes", "test", $"--config.file={Repository.AlertmanagerFile}", $"--verify.receivers={receiver}", .. labels]);

        Assert.True(result.ExitCode == 0 && result.StdOut.Trim() == receiver, result.ToString());
    }
}
