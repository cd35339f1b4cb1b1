using System.Text;
using QmpExporter.Sources;

namespace QmpExporter.Tests.Sources;

/// <summary>The identity a dial-in VM is named by, from the command lines libvirt, Proxmox and people write.</summary>
public sealed class QemuCommandLineTests
{
    private static VmIdentity Parse(params string[] args) => QemuCommandLine.Parse(42, Encoding.UTF8.GetBytes(string.Join('\0', ["/usr/bin/qemu-system-x86_64", .. args]) + "\0"));

    [Fact]
    public void Libvirt_names_the_guest_with_a_guest_key_and_gives_a_uuid()
    {
        var id = Parse("-name", "guest=web,,1,debug-threads=on", "-S", "-uuid", "c7a5fdbd-edaf-9455-926a-d65c16db1809");
        Assert.Equal(new VmIdentity(42, "web,1", "c7a5fdbd-edaf-9455-926a-d65c16db1809", ""), id);
        Assert.Equal("web,1", id.Label);
    }

    [Fact]
    public void Proxmox_gives_an_id_and_a_plain_name_with_options()
    {
        var id = Parse("-id", "100", "-name", "db01,debug-threads=on", "-smp", "2");
        Assert.Equal(("db01", "100"), (id.Name, id.ProxmoxId));
        Assert.Equal("db01", id.Label);
    }

    [Fact]
    public void Without_a_name_the_label_falls_back_to_the_Proxmox_id_then_the_uuid_then_the_pid()
    {
        Assert.Equal("100", Parse("-id", "100", "--uuid", "u-1").Label);
        Assert.Equal("u-1", Parse("--uuid", "u-1").Label);
        Assert.Equal("pid-42", Parse("-m", "32").Label);
    }
}
