using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using QmpExporter.Tests.Support;
using Xunit.Abstractions;

namespace QmpExporter.Tests.Deploy;

/// <summary>
/// scripts/image.sh's OCI image: two builds of one commit have one digest, it is the Helm chart's default image, and
/// run by podman with runc (as uid 65534, the QMP socket's directory mounted read-only) it serves a real QEMU's
/// metrics. podman keeps its storage in the test's own folder and uses the host's network (loopback only).
/// </summary>
[Collection(DeployAlone.Name)]
public sealed partial class ContainerImageTests(ITestOutputHelper output) : IDisposable
{
    private readonly string temp = ScratchDir.CreateTempDirectory("image");

    public void Dispose() => Directory.Delete(temp, recursive: true);

    [Fact]
    public async Task Builds_reproducibly_and_serves_a_real_qemu_as_nobody()
    {
        var binary = await ReleaseBinary.GetAsync();
        var first = await BuildAsync(binary, "first");
        var second = await BuildAsync(binary, "second");
        Assert.Equal(first.Digest, second.Digest);

        var chartImage = await ExternalTool.RunCheckedAsync(
            "helm", ["template", "t", Repository.ChartDir, "--show-only", "templates/daemonset.yaml"]);
        Assert.Contains($"image: \"{first.Image}\"", chartImage.StdOut, StringComparison.Ordinal);

        var inspect = await ExternalTool.RunCheckedAsync("skopeo", ["inspect", "--config", "oci-archive:" + first.Archive]);
        Assert.Contains("\"User\": \"65534:65534\"", inspect.StdOut, StringComparison.Ordinal);
        var revision = (await ExternalTool.RunCheckedAsync("git", ["rev-parse", "HEAD"])).StdOut.Trim();
        Assert.Contains($"\"org.opencontainers.image.revision\": \"{revision}\"", inspect.StdOut, StringComparison.Ordinal);

        await using var qemu = await QemuVm.StartAsync();
        // connect() needs write permission on the socket: the container's nobody gets it, and search on the directory.
        await ExternalTool.RunCheckedAsync("chmod", ["0666", qemu.ExporterSocket]);
        await ExternalTool.RunCheckedAsync("chmod", ["0755", qemu.Directory]);

        var podman = new[] { "--root", Path.Combine(temp, "podman"), "--runroot", Path.Combine(temp, "podman-run"), "--storage-driver", "vfs",
            "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file" };
        var load = await ExternalTool.RunCheckedAsync("podman", [.. podman, "load", "--quiet", "--input", first.Archive], timeout: TimeSpan.FromMinutes(3));
        output.WriteLine(load.StdOut.Trim());
        var port = FreePort();
        var name = "qmpx-" + Path.GetFileName(temp);
        var run = await ExternalTool.RunCheckedAsync(
            "podman",
            [.. podman, "run", "--detach", "--name", name, "--network", "host",
                "--ulimit", "nofile=16384:16384", "--ulimit", "nproc=4096:4096",
                "--volume", $"{qemu.Directory}:/run/qemu:ro", first.Image,
                "--urls", $"http://127.0.0.1:{port}", "--vm", "vm1=/run/qemu/exporter.qmp"],
            timeout: TimeSpan.FromMinutes(2));
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var metrics = await Eventually.Get(
                async () =>
                {
                    try
                    {
                        return await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
                    }
                    catch (HttpRequestException e)
                    {
                        return e.Message;
                    }
                },
                m => m.Contains("qmp_up{vm=\"vm1\"} 1", StringComparison.Ordinal),
                "qmp_up 1 from the container",
                TimeSpan.FromSeconds(60));
            Assert.Contains("qmp_exporter_build_info{", metrics, StringComparison.Ordinal);
            var user = await ExternalTool.RunCheckedAsync("podman", [.. podman, "top", name, "user", "comm"]);
            Assert.Contains("nobody", user.StdOut, StringComparison.Ordinal);
        }
        catch
        {
            output.WriteLine((await ExternalTool.RunAsync("podman", [.. podman, "logs", name])).ToString());
            throw;
        }
        finally
        {
            await ExternalTool.RunAsync("podman", [.. podman, "rm", "--force", "--time", "5", name]);
        }
    }

    private async Task<(string Archive, string Image, string Digest)> BuildAsync(string binary, string folder)
    {
        var result = await ExternalTool.RunCheckedAsync(
            Repository.Path("scripts", "image.sh"),
            [Path.Combine(temp, folder)],
            environment: new Dictionary<string, string> { ["QMP_EXPORTER_BINARY"] = binary },
            timeout: TimeSpan.FromMinutes(5));
        output.WriteLine($"{result.StdOut.Trim()} in {result.Elapsed.TotalSeconds:F1} s");
        var built = BuiltLine().Match(result.StdOut);
        Assert.True(built.Success, $"no 'built' line:\n{result}");
        return (built.Groups[1].Value, built.Groups[2].Value, built.Groups[3].Value);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"^built (\S+) \(\S+\), image (\S+), digest (sha256:[0-9a-f]{64})$", RegexOptions.Multiline)]
    private static partial Regex BuiltLine();
}
