using QmpExporter.Tests.RealQemu;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Sources;

/// <summary>
/// QmpExporter:Discover:Globs on a directory where real QEMUs put their -qmp sockets: ten VMs start and quit in random
/// order; each appears as soon as its socket does (the rescan is set to a minute, so only the file watcher can be that
/// quick) and leaves after the grace once QEMU removed its socket.
/// </summary>
public sealed class DiscoveryTests : IDisposable
{
    private const int Count = 10;
    private readonly string directory = Directory.CreateTempSubdirectory("qd-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task Ten_VMs_appear_when_their_sockets_do_and_leave_after_the_grace_when_they_quit()
    {
        await using var exporter = await ExporterHost.StartAsync("--discover", Path.Combine(directory, "*.qmp"),
            "--QmpExporter:Discover:RescanInterval=00:01:00", "--QmpExporter:DepartedVmGrace=00:00:02");
        var names = Enumerable.Range(0, Count).Select(i => RealQemuAssert.UniqueName($"d{i}")).ToArray();
        var random = new Random(9);
        var vms = new Dictionary<string, QemuVm>();
        try
        {
            foreach (var name in names.OrderBy(_ => random.Next()))
            {
                vms[name] = await QemuVm.StartAsync(new QemuVmOptions
                {
                    Args = ["-m", "32", "-S", "-qmp", $"unix:{Path.Combine(directory, name + ".qmp")},server=on,wait=off"],
                });
                await exporter.WaitForAsync(s => s.Of(name, "qmp_up") == 1, $"{name} up from its discovered socket", TimeSpan.FromSeconds(5));
            }

            foreach (var name in names.OrderBy(_ => random.Next()))
            {
                await vms[name].ExecuteAsync("quit");
                await vms[name].WaitForExitAsync();
                Assert.False(File.Exists(Path.Combine(directory, name + ".qmp")), "QEMU removes its socket when it quits");
                await exporter.WaitForAsync(s => !s.Text.Contains($"vm=\"{name}\"", StringComparison.Ordinal), $"{name} released after the grace", TimeSpan.FromSeconds(15));
            }

            var scrape = await exporter.ScrapeAsync();
            Assert.DoesNotContain("qmp_up{", scrape.Text, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var vm in vms.Values)
            {
                await vm.DisposeAsync();
            }
        }
    }
}
