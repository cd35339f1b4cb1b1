using System.Diagnostics;
using System.Text;
using QmpExporter.Tests.Support;
using Xunit.Sdk;

namespace QmpExporter.Tests.Deploy;

/// <summary>
/// A minimal Debian 12 with systemd as PID 1, booted by systemd-nspawn in its own network namespace (only its own
/// loopback). The root comes from an mmdebstrap tarball cached in .tools/debian (the first run downloads it from
/// Debian's mirror). The host's PID 1 is not systemd, so the container is not registered with machined; commands
/// run inside through nsenter into the container's PID 1.
/// </summary>
internal sealed class BootedDebian : IAsyncDisposable
{
    /// <summary>What the root holds besides minbase: systemd and what the package depends on (dpkg -i installs no dependency).</summary>
    private const string Packages = "systemd,systemd-sysv,dbus,libssl3,procps";

    private static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(2);

    private readonly Process nspawn;
    private readonly StringBuilder console = new();

    private BootedDebian(string root, Process nspawn)
    {
        Root = root;
        this.nspawn = nspawn;
    }

    /// <summary>The container's file system, as seen from the host.</summary>
    public string Root { get; }

    /// <summary>The container's PID 1 (systemd), as seen from the host.</summary>
    public int InitPid { get; private set; }

    public string Console
    {
        get
        {
            lock (console)
            {
                return console.ToString();
            }
        }
    }

    /// <summary>The cached root tarball, made by mmdebstrap when missing.</summary>
    public static async Task<string> TarballAsync()
    {
        var dir = Repository.Path(".tools", "debian");
        var tarball = Path.Combine(dir, "bookworm-systemd.tar");
        var stamp = tarball + ".packages";
        if (File.Exists(tarball) && File.Exists(stamp) && await File.ReadAllTextAsync(stamp) == Packages)
        {
            return tarball;
        }

        Directory.CreateDirectory(dir);
        var partial = tarball + ".partial";
        await ExternalTool.RunCheckedAsync(
            "mmdebstrap",
            ["--variant=minbase", "--include=" + Packages, "--format=tar", "bookworm", partial, "http://deb.debian.org/debian"],
            timeout: TimeSpan.FromMinutes(10));
        File.Move(partial, tarball, overwrite: true);
        await File.WriteAllTextAsync(stamp, Packages);
        return tarball;
    }

    /// <summary>Unpacks <paramref name="tarball"/> into <paramref name="root"/> and boots it; returns once systemd finished starting up.</summary>
    public static async Task<BootedDebian> BootAsync(string tarball, string root)
    {
        Directory.CreateDirectory(root);
        await ExternalTool.RunCheckedAsync("tar", ["-xf", tarball, "-C", root]);

        var start = new ProcessStartInfo(ExternalTool.Find("systemd-nspawn"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in new[] { "--register=no", "--keep-unit", "--private-network", "--console=pipe", "--quiet", "-b", "-D", root })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new XunitException("could not start systemd-nspawn");
        var container = new BootedDebian(root, process);
        process.OutputDataReceived += (_, e) => container.Log(e.Data);
        process.ErrorDataReceived += (_, e) => container.Log(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            container.InitPid = await Eventually.Get(
                () => Task.FromResult(process.HasExited ? -1 : FindInit(process.Id)),
                pid => pid != 0,
                "the container's systemd",
                BootTimeout);
            if (container.InitPid < 0)
            {
                throw new XunitException($"systemd-nspawn exited with code {process.ExitCode}:\n{container.Console}");
            }

            // "running" or "degraded" (a unit of the minimal root that cannot start in a container): booted.
            await Eventually.Get(
                async () => (await container.RunAsync("systemctl", "is-system-running")).StdOut.Trim(),
                state => state is "running" or "degraded",
                "the container to finish booting",
                BootTimeout);
            return container;
        }
        catch
        {
            await container.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a command inside the container (all its namespaces, its root), with a plain system PATH.</summary>
    public Task<ToolResult> RunAsync(params string[] command) =>
        ExternalTool.RunAsync(
            "nsenter",
            ["--target", InitPid.ToString(System.Globalization.CultureInfo.InvariantCulture), "--all", "--", "/usr/bin/env", "-i",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive", .. command],
            timeout: TimeSpan.FromMinutes(2));

    /// <summary>Runs a command inside the container and fails the test unless it exits 0.</summary>
    public async Task<ToolResult> RunCheckedAsync(params string[] command)
    {
        var result = await RunAsync(command);
        if (result.ExitCode != 0)
        {
            throw new XunitException($"inside the container: {result}\n--- console ---\n{Console}");
        }

        return result;
    }

    /// <summary>Runs a host tool in the container's network namespace only (its loopback), e.g. curl.</summary>
    public Task<ToolResult> RunInNetworkAsync(string tool, params string[] arguments) =>
        ExternalTool.RunAsync(
            "nsenter",
            ["--target", InitPid.ToString(System.Globalization.CultureInfo.InvariantCulture), "--net", "--", ExternalTool.Find(tool), .. arguments]);

    public async ValueTask DisposeAsync()
    {
        if (!nspawn.HasExited && InitPid > 0)
        {
            await RunAsync("systemctl", "poweroff", "--no-block");
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await nspawn.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            nspawn.Kill(entireProcessTree: true);
            await nspawn.WaitForExitAsync();
        }

        nspawn.Dispose();
        Directory.Delete(Root, recursive: true);
    }

    /// <summary>The pid of the process named systemd below <paramref name="ancestor"/>, or 0 if none yet.</summary>
    private static int FindInit(int ancestor)
    {
        var parents = new Dictionary<int, int>();
        var systemds = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var close = stat.LastIndexOf(')');
                var name = stat[(stat.IndexOf('(', StringComparison.Ordinal) + 1)..close];
                var parent = int.Parse(stat[(close + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                parents[pid] = parent;
                if (name == "systemd")
                {
                    systemds.Add(pid);
                }
            }
            catch (IOException)
            {
                // The process ended meanwhile.
            }
        }

        foreach (var candidate in systemds)
        {
            for (var p = parents.GetValueOrDefault(candidate); p > 1; p = parents.GetValueOrDefault(p))
            {
                if (p == ancestor)
                {
                    return candidate;
                }
            }
        }

        return 0;
    }

    private void Log(string? line)
    {
        if (line is not null)
        {
            lock (console)
            {
                console.AppendLine(line);
            }
        }
    }
}
