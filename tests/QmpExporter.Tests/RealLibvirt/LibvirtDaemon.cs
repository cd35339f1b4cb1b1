using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealLibvirt;

/// <summary>
/// The host's real libvirtd (qemu:///system). Without systemd nothing starts it, so the tests start virtlogd and
/// libvirtd themselves, as udev would first give /dev/kvm to group kvm (else libvirt re-probes QEMU on every start).
/// </summary>
internal static class LibvirtDaemon
{
    public const string Uri = "qemu:///system";
    private const string PidFile = "/run/libvirtd.pid";

    public static async Task EnsureRunningAsync()
    {
        if (File.Exists("/dev/kvm"))
        {
            await ExternalTool.RunCheckedAsync("chgrp", ["kvm", "/dev/kvm"]);
            await ExternalTool.RunCheckedAsync("chmod", ["0660", "/dev/kvm"]);
        }

        if ((await VirshAsync("list")).ExitCode == 0)
        {
            return;
        }

        if (!Alive("/run/virtlogd.pid"))
        {
            await ExternalTool.RunCheckedAsync("virtlogd", ["-d"]);
        }

        await ExternalTool.RunCheckedAsync("libvirtd", ["-d"]);
        await Eventually.Get(() => VirshAsync("list"), r => r.ExitCode == 0, "libvirtd to answer", TimeSpan.FromSeconds(60));
    }

    /// <summary>Stops libvirtd (the QEMUs it runs keep running) and starts it again.</summary>
    public static async Task RestartAsync()
    {
        var pid = int.Parse(File.ReadAllText(PidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        using (var daemon = Process.GetProcessById(pid))
        {
            await ExternalTool.RunCheckedAsync("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await daemon.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        await ExternalTool.RunCheckedAsync("libvirtd", ["-d"]);
        await Eventually.Get(() => VirshAsync("list"), r => r.ExitCode == 0, "libvirtd to answer again", TimeSpan.FromSeconds(60));
    }

    public static Task<ToolResult> VirshAsync(params string[] args) => ExternalTool.RunAsync("virsh", ["-c", Uri, .. args]);

    public static async Task<ToolResult> VirshCheckedAsync(params string[] args)
    {
        var result = await VirshAsync(args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    private static bool Alive(string pidFile)
    {
        try
        {
            using var process = Process.GetProcessById(int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture));
            return !process.HasExited;
        }
        catch (Exception e) when (e is IOException or ArgumentException or FormatException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}

/// <summary>One QMP event as <c>virsh qemu-monitor-event --loop</c> printed it.</summary>
internal sealed record VirshEvent(string Domain, string Name, long Seconds, long Microseconds, string? Details)
{
    public double Timestamp => Seconds + (Microseconds / 1e6);

    public string? Member(string name) =>
        Details is null ? null : JsonDocument.Parse(Details).RootElement.TryGetProperty(name, out var value) ? value.ToString() : null;
}

/// <summary>
/// <c>virsh qemu-monitor-event --loop</c> for all domains, run beside the exporter: the reference every family is
/// compared with. It is started again after a libvirtd restart (its connection ends with the daemon).
/// </summary>
internal sealed partial class VirshEventLog : IAsyncDisposable
{
    private readonly List<VirshEvent> events = [];
    private int ignoredBefore;
    private Process? process;
    private Task reading = Task.CompletedTask;

    public static async Task<VirshEventLog> StartAsync()
    {
        var log = new VirshEventLog();
        await log.RestartAsync();
        return log;
    }

    public IReadOnlyList<VirshEvent> Of(string domain)
    {
        lock (events)
        {
            return [.. events.Skip(ignoredBefore).Where(e => e.Domain == domain)];
        }
    }

    /// <summary>From now on only: what came before the exporter started is not its to see.</summary>
    public void StartFromHere()
    {
        lock (events)
        {
            ignoredBefore = events.Count;
        }
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        var start = new ProcessStartInfo(ExternalTool.Find("virsh")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["-c", LibvirtDaemon.Uri, "qemu-monitor-event", "--loop"])
        {
            start.ArgumentList.Add(arg);
        }

        process = Process.Start(start)!;
        var output = process.StandardOutput;
        reading = Task.Run(async () =>
        {
            while (await output.ReadLineAsync() is { } line)
            {
                if (Line().Match(line) is { Success: true } m)
                {
                    var details = m.Groups["details"].Value;
                    lock (events)
                    {
                        events.Add(new VirshEvent(m.Groups["domain"].Value, m.Groups["name"].Value, long.Parse(m.Groups["s"].Value, System.Globalization.CultureInfo.InvariantCulture),
                            long.Parse(m.Groups["us"].Value, System.Globalization.CultureInfo.InvariantCulture), details == "<null>" ? null : details));
                    }
                }
            }
        });

        // virsh prints nothing once it has subscribed; it connects and subscribes at once, so its socket is the sign.
        var fds = $"/proc/{process.Id}/fd";
        await Eventually.True(() => Directory.EnumerateFiles(fds).Any(fd => new FileInfo(fd).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true),
            "virsh qemu-monitor-event to connect");
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task StopAsync()
    {
        if (process is null)
        {
            return;
        }

        if (!process.HasExited)
        {
            process.Kill();
        }

        await process.WaitForExitAsync();
        await reading;
        process.Dispose();
        process = null;
    }

    [GeneratedRegex(@"^event (?<name>\S+) at (?<s>\d+)\.(?<us>\d{6}) for domain '(?<domain>[^']*)': (?<details>.*)$")]
    private static partial Regex Line();
}
