using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using QmpExporter.Hosting;
using QmpExporter.Tests.Configuration;
using QmpExporter.Tests.Hosting;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Hardening;

/// <summary>A bad edit of appsettings.json never removes the VMs being watched; a deliberate empty list does.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "xUnit disposes the fake VMs through IAsyncLifetime.DisposeAsync")]
public sealed class ConfigEditTests : IAsyncLifetime
{
    private readonly DirectoryInfo contentRoot = Directory.CreateTempSubdirectory("qmpexp-");
    private readonly FakeVm web1 = new("web1");
    private readonly FakeVm web2 = new("web2");

    private string SettingsFile => Path.Combine(contentRoot.FullName, "appsettings.json");

    public static TheoryData<string, string?> BadEdits => new()
    {
        { "deleted file", null },
        { "invalid JSON", """{"QmpExporter": {"Vms": [""" },
        { "empty file", "" },
        { "Vms not a list", """{"QmpExporter": {"Vms": "web1"}}""" },
        { "misspelt Vms key", """{"QmpExporter": {"Vm": []}}""" },
        { "missing section", """{"Logging": {}}""" },
        { "misspelt VM key", """{"QmpExporter": {"Vms": [{"Nmae": "x", "Socket": "/run/x.qmp"}]}}""" },
        { "type error", """{"QmpExporter": {"MaxLineBytes": "lots", "Vms": []}}""" },
    };

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await web1.DisposeAsync();
        await web2.DisposeAsync();
        contentRoot.Delete(recursive: true);
    }

    [Theory]
    [MemberData(nameof(BadEdits))]
    public async Task A_bad_edit_keeps_the_previous_VMs_and_is_logged_and_counted(string edit, string? content)
    {
        WriteSettings(Settings(web1, web2));
        await using var exporter = await ExporterHost.StartAsync("--contentRoot", contentRoot.FullName);
        await exporter.WaitForAsync(s => s.IsSettled(web1.Name) && s.IsSettled(web2.Name), "web1 and web2 connected");

        if (content is null)
        {
            File.Delete(SettingsFile);
        }
        else
        {
            WriteSettings(content);
        }

        var configuration = exporter.Services.GetRequiredService<IConfiguration>();
        await Eventually.True(() => configuration["QmpExporter:Vms:0:Name"] != web1.Name, $"the file watcher to see the {edit}");
        var supervisor = exporter.Services.GetRequiredService<VmSupervisor>();
        await supervisor.ReloadAsync();

        Assert.Equal(2, supervisor.Sessions.Count);
        var scrape = await exporter.WaitForAsync(s => s.Value("qmp_exporter_config_reload_failures_total") >= 1, "the rejected reload counted");
        Assert.Equal(1, scrape.Of(web1.Name, "qmp_up"));
        Assert.Equal(1, scrape.Of(web2.Name, "qmp_up"));

        // Once fixed, the file applies again.
        WriteSettings(Settings(web1));
        await exporter.WaitForAsync(s => s.IsSettled(web1.Name) && !s.Has("qmp_up", web2.Name), "the fixed file applied");
    }

    [Fact]
    public async Task An_explicitly_empty_VM_list_applies()
    {
        WriteSettings(Settings(web1, web2));
        await using var exporter = await ExporterHost.StartAsync("--contentRoot", contentRoot.FullName);
        await exporter.WaitForAsync(s => s.IsSettled(web1.Name) && s.IsSettled(web2.Name), "web1 and web2 connected");

        WriteSettings("""{"QmpExporter": {"Vms": []}}""");

        var scrape = await exporter.WaitForAsync(s => !s.Has("qmp_up", web1.Name) && !s.Has("qmp_up", web2.Name), "both VMs removed");
        Assert.Empty(exporter.Services.GetRequiredService<VmSupervisor>().Sessions);
        Assert.Equal(0, scrape.Value("qmp_exporter_config_reload_failures_total"));
    }

    [Theory]
    [InlineData("--QmpExporter:MaxLineBytes=lots", "'QmpExporter:MaxLineBytes'")]
    [InlineData("--QmpExporter:MaxLineBytes=2147483647", "QmpExporter:MaxLineBytes must be between")]
    [InlineData("--QmpExporter:ReconnectMaxDelay=365.00:00:00", "QmpExporter:ReconnectMaxDelay must be")]
    [InlineData("--QmpExporter:Vms=web1", "QmpExporter:Vms must be a list")]
    public async Task A_type_error_or_an_out_of_range_number_at_start_is_a_clean_failure_naming_the_key(string arg, string expected)
    {
        var error = await ExporterStartupValidationTests.StartFailsAsync(arg);

        Assert.Contains(error.Failures, f => f.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unparseable_settings_file_at_start_is_a_clean_failure_naming_the_file()
    {
        WriteSettings("""{"QmpExporter": {"Vms": [""");

        var error = await ExporterStartupValidationTests.StartFailsAsync("--contentRoot", contentRoot.FullName);

        Assert.Contains(error.Failures, f => f.Contains(SettingsFile, StringComparison.Ordinal));
    }

    private static string Settings(params FakeVm[] vms) =>
        JsonSerializer.Serialize(new { QmpExporter = new { Vms = vms.Select(vm => new { vm.Name, vm.Socket }) } });

    /// <summary>Replaces the file in one rename, as editors and config management do, so a reload never reads half a file.</summary>
    private void WriteSettings(string json)
    {
        var temporary = SettingsFile + ".tmp";
        File.WriteAllText(temporary, json);
        File.Move(temporary, SettingsFile, overwrite: true);
    }
}
