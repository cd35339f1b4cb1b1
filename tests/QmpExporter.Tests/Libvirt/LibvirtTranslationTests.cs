using QmpExporter.Configuration;
using QmpExporter.Libvirt;

namespace QmpExporter.Tests.Libvirt;

/// <summary>What the libvirt source reads from libvirt and how it words it as QEMU would.</summary>
public sealed class LibvirtTranslationTests
{
    [Theory]
    [InlineData(new[] { "--libvirt" }, "qemu:///system")]
    [InlineData(new[] { "--libvirt", "--urls", "http://127.0.0.1:0" }, "qemu:///system")]
    [InlineData(new[] { "--libvirt", "qemu+ssh://hv1/system" }, "qemu+ssh://hv1/system")]
    [InlineData(new[] { "--libvirt=qemu:///session" }, "qemu:///session")]
    public void The_libvirt_flag_takes_an_optional_uri(string[] args, string uri)
    {
        var parsed = ExporterCommandLine.Parse(args);
        Assert.Empty(parsed.UsageErrors);
        Assert.Equal(uri, parsed["QmpExporter:Libvirt:Uri"]);
    }

    [Fact]
    public void Disks_give_libvirts_node_names_from_the_source_and_backing_indexes_top_first()
    {
        var domain = DomainXml.Parse("""
            <domain type='qemu'><name>d</name><devices>
              <emulator>/usr/bin/qemu-system-x86_64</emulator>
              <disk type='file' device='disk'><source file='/a.qcow2' index='4'/>
                <backingStore type='file' index='3'><source file='/b.qcow2'/><backingStore type='file' index='1'><source file='/c'/><backingStore/></backingStore></backingStore>
                <target dev='vdb' bus='virtio'/><alias name='virtio-disk1'/></disk>
              <disk type='file' device='cdrom'><target dev='hdc' bus='ide' tray='open'/><readonly/><alias name='ide0-1-0'/></disk>
              <disk type='file' device='cdrom'><source file='/cd.iso' index='7'/><target dev='hdd' bus='ide'/><alias name='ide0-1-1'/></disk>
            </devices></domain>
            """);

        Assert.Equal("/usr/bin/qemu-system-x86_64", domain.Emulator);
        Assert.Equal(
            [
                new DomainDisk("vdb", "virtio-disk1", false, null, ["libvirt-4-format", "libvirt-3-format", "libvirt-1-format"]),
                new DomainDisk("hdc", "ide0-1-0", true, true, []),
                new DomainDisk("hdd", "ide0-1-1", true, false, ["libvirt-7-format"]),
            ],
            domain.Disks, (x, y) => x.Target == y.Target && x.Alias == y.Alias && x.Removable == y.Removable && x.TrayOpen == y.TrayOpen && x.Nodes.SequenceEqual(y.Nodes));
        Assert.Null(domain.Disks[1].TopNode);
    }

    [Theory]
    [InlineData(1, 1, "running")]
    [InlineData(3, 1, "paused")]
    [InlineData(3, 5, "io-error")]
    [InlineData(3, 10, "guest-panicked")]
    [InlineData(6, 1, "guest-panicked")]
    [InlineData(7, 1, "suspended")]
    [InlineData(5, 1, null)]
    public void Libvirt_states_read_as_QEMUs_run_states(int state, int reason, string? status) =>
        Assert.Equal(status, LibvirtStates.QemuStatus(state, reason));

    [Fact]
    public void Block_job_types_read_as_QEMUs_job_types_with_libvirts_job_id_prefix()
    {
        Assert.Equal(("pull", "stream", false), LibvirtStates.JobKind(1));
        Assert.Equal(("copy", "mirror", true), LibvirtStates.JobKind(2));
        Assert.Equal(("active-commit", "commit", true), LibvirtStates.JobKind(4));
        Assert.Null(LibvirtStates.JobKind(0));
    }
}

/// <summary>libvirt's client library is loaded only when the libvirt source is configured, and then its absence is said plainly.</summary>
public sealed class LibvirtLibraryTests
{
    [Fact]
    public async Task Without_libvirts_library_the_libvirt_source_stops_the_start_with_a_message_naming_the_library()
    {
        // libvirt.so.0 hidden by an empty file in a mount namespace of the exporter's own.
        var library = Support.ExternalTool.Find("/usr/lib/x86_64-linux-gnu/libvirt.so.0");
        var exporter = Path.Combine(AppContext.BaseDirectory, "qmp-exporter.dll");
        string Hidden(string args) => $"mount --bind /dev/null {library} && exec dotnet {exporter} --urls http://127.0.0.1:0 {args}";

        var failed = await Support.ExternalTool.RunAsync("unshare", ["--mount", "--propagation", "private", "sh", "-c", Hidden("--libvirt")]);
        Assert.True(failed.ExitCode == 2, failed.ToString());
        Assert.Contains("QmpExporter:Libvirt:Uri is set ('qemu:///system') but libvirt's client library libvirt.so.0 cannot be loaded", failed.StdErr, StringComparison.Ordinal);
    }
}
