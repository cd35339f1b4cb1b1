using System.Security.Cryptography;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Sources;

/// <summary>QEMU arguments and paths for VMs that dial in to an exporter's listening socket.</summary>
internal static class DialIn
{
    /// <summary>The documented dial-in line (docs/hosts/plain-qemu.md): a client chardev that QEMU redials every 5 s, as a QMP monitor.</summary>
    public static string[] Args(string listenPath) =>
        ["-chardev", $"socket,id=qmpexp,path={listenPath},reconnect=5", "-mon", "chardev=qmpexp,mode=control"];

    /// <summary>A fresh directory for a listening socket, short enough for sun_path; the exporter creates it.</summary>
    public static string NewListenPath() => $"/tmp/ql-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}/run/qmp.sock";

    /// <summary>A guest-less VM with little memory: 20 of them fit a small CI machine.</summary>
    public static Task<QemuVm> StartAsync(string name, string listenPath, params string[] extra) =>
        QemuVm.StartAsync(new QemuVmOptions
        {
            BootSector = BootSector.Create(),
            Args = ["-m", "32", "-S", "-name", $"guest={name},debug-threads=on", .. Args(listenPath), .. extra],
        });

    public static void Remove(string listenPath)
    {
        var root = Path.GetDirectoryName(Path.GetDirectoryName(listenPath))!;
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
