using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using QmpExporter.Hosting;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Hosting;

/// <summary>Editing the VM list in appsettings.json applies without a restart; an edit that does not validate is ignored.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "xUnit disposes the fake VMs through IAsyncLifetime.DisposeAsync")]
public sealed class ReloadTests : IAsyncLifetime
{
    private readonly DirectoryInfo contentRoot = Directory.CreateTempSubdirectory("qmpexp-");
    private readonly FakeVm web1 = new("web1");
    private readonly FakeVm web2 = new("web2");
    private readonly FakeVm db1 = new("db1");

    private string SettingsFile => Path.Combine(contentRoot.FullName, "appsettings.json");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await web1.DisposeAsync();
        await web2.DisposeAsync();
        await db1.DisposeAsync();
        contentRoot.Delete(recursive: true);
    }

    [Fact]
    public async Task The_VM_list_in_appsettings_json_under_contentRoot_is_reloaded_without_a_restart()
    {
        WriteSettings((web1.Name, web1.Socket), (web2.Name, web2.Socket));
        await using var exporter = await ExporterHost.StartAsync("--contentRoot", contentRoot.FullName);
        await exporter.WaitForAsync(s => s.IsSettled(web1.Name) && s.IsSettled(web2.Name), "the VMs of appsettings.json under --contentRoot connected");

        WriteSettings((web1.Name, web1.Socket), (db1.Name, db1.Socket));

        var scrape = await exporter.WaitForAsync(
            s => s.IsSettled(db1.Name) && !s.Text.Contains($"vm=\"{web2.Name}\"", StringComparison.Ordinal),
            "db1 added and web2 gone after the edit");
        Assert.Equal(1, scrape.Of(web1.Name, "qmp_up"));
        Assert.Equal(1, scrape.Of(web1.Name, "qmp_connects_total"));
        Assert.Equal(1, scrape.Of(db1.Name, "qmp_connects_total"));
    }

    [Fact]
    public async Task A_reload_with_an_invalid_socket_is_rejected_and_the_previous_VMs_keep_being_served()
    {
        WriteSettings((web1.Name, web1.Socket), (web2.Name, web2.Socket));
        await using var exporter = await ExporterHost.StartAsync("--contentRoot", contentRoot.FullName);
        await exporter.WaitForAsync(s => s.IsSettled(web1.Name) && s.IsSettled(web2.Name), "web1 and web2 connected");

        // Applied, this edit would drop web2 and add db1.
        WriteSettings((web1.Name, web1.Socket), (db1.Name, "tcp:localhost:0"));
        var configuration = exporter.Services.GetRequiredService<IConfiguration>();
        await Eventually.True(() => configuration["QmpExporter:Vms:1:Socket"] == "tcp:localhost:0", "the file watcher to reload appsettings.json");
        await exporter.Services.GetRequiredService<VmSupervisor>().ReloadAsync();

        var scrape = await exporter.ScrapeAsync();
        Assert.Equal(1, scrape.Of(web1.Name, "qmp_up"));
        Assert.Equal(1, scrape.Of(web2.Name, "qmp_up"));
        Assert.False(scrape.Has("qmp_up", db1.Name));
        Assert.Equal(new[] { web1.Name, web2.Name }.Order(StringComparer.Ordinal), exporter.Services.GetRequiredService<VmSupervisor>().Sessions.Select(s => s.Name).Order(StringComparer.Ordinal));

        // A later valid edit still applies.
        WriteSettings((web1.Name, web1.Socket), (db1.Name, db1.Socket));
        await exporter.WaitForAsync(s => s.IsSettled(db1.Name) && !s.Has("qmp_up", web2.Name), "the next valid edit applied");
    }

    /// <summary>Replaces the file in one rename, as editors and config management do, so a reload never reads half a file.</summary>
    private void WriteSettings(params (string Name, string Socket)[] vms)
    {
        var json = JsonSerializer.Serialize(new { QmpExporter = new { Vms = vms.Select(vm => new { vm.Name, vm.Socket }) } });
        var temporary = SettingsFile + ".tmp";
        File.WriteAllText(temporary, json);
        File.Move(temporary, SettingsFile, overwrite: true);
    }
}
