using System.Diagnostics;
using Xunit.Sdk;

namespace QmpExporter.Tests.Support;

/// <summary>What a tool run printed and how long it took, for assertions and failure messages.</summary>
internal sealed record ToolResult(string CommandLine, int ExitCode, string StdOut, string StdErr, TimeSpan Elapsed)
{
    public string Output => StdOut + StdErr;

    public override string ToString() =>
        $"$ {CommandLine}\nexit code {ExitCode} after {Elapsed.TotalSeconds:F1} s\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}

/// <summary>
/// Finds and runs the tests' real tools (qemu-system-x86_64, promtool, amtool, prometheus, tsc, qemu-img, qemu-io, systemd-analyze,
/// systemd-sysusers, helm, node, dotnet, the scripts) as processes with argument lists, never through a shell.
/// A missing tool fails the test with how to get it: these checks never skip.
/// </summary>
internal static class ExternalTool
{
    public const string InstallHint =
        "run the tests through scripts/test.sh (CI's entry point), or `. scripts/tools.sh` in your shell first: it installs " +
        "the checking tools when missing (systemd-analyze and systemd-sysusers from Debian's systemd, promtool and prometheus " +
        "from Debian's prometheus, amtool from prometheus-alertmanager, qemu-system-x86_64 from qemu-system-x86, qemu-img " +
        "and qemu-io from qemu-utils, virsh and libvirtd from libvirt-clients and libvirt-daemon-system, node from nodejs, " +
        "mmdebstrap, systemd-nspawn from systemd-container, buildah, skopeo, podman and runc, " +
        "helm into .tools/bin, kubernetes-models and typescript (tsc) by npm ci in tools/) and puts them on PATH";

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The tool's full path: a path as given, else tools/node_modules/.bin, .tools/bin, then PATH.</summary>
    public static string Find(string name)
    {
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(name) ? name : throw new XunitException($"{name} does not exist");
        }

        string[] own = [Repository.Path("tools", "node_modules", ".bin"), Repository.Path(".tools", "bin")];
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (var dir in own.Concat(path))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                if (dir == own[0])
                {
                    // An npm tool: its #!/usr/bin/env node needs node on PATH.
                    Find("node");
                }

                return candidate;
            }
        }

        throw new XunitException($"{name} was not found in tools/node_modules/.bin, .tools/bin or on PATH: {InstallHint}.");
    }

    /// <summary>Runs the tool (in the repository root unless told otherwise) and returns what it printed.</summary>
    public static async Task<ToolResult> RunAsync(
        string name,
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null,
        string? stdin = null)
    {
        var start = new ProcessStartInfo(Find(name))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workingDirectory ?? Repository.Root,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var commandLine = string.Join(' ', start.ArgumentList.Prepend(name).Select(Quote));
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new XunitException($"could not start {commandLine}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        var limit = timeout ?? DefaultTimeout;
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new XunitException($"{commandLine} did not finish within {limit.TotalSeconds} s\n{await stdout}\n{await stderr}");
        }

        var result = new ToolResult(commandLine, process.ExitCode, await stdout, await stderr, clock.Elapsed);
        if (result.ExitCode == 127 || result.StdErr.Contains("ERR_MODULE_NOT_FOUND", StringComparison.Ordinal))
        {
            // A script's "command not found" (e.g. from its #! line), or node missing the npm packages of tools/.
            throw new XunitException($"{name} could not run a program or module it needs: {InstallHint}.\n{result}");
        }

        return result;
    }

    /// <summary>Runs the tool and fails the test, with everything it printed, unless it exits 0.</summary>
    public static async Task<ToolResult> RunCheckedAsync(
        string name,
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null)
    {
        var result = await RunAsync(name, arguments, workingDirectory, environment, timeout);
        if (result.ExitCode != 0)
        {
            throw new XunitException($"{name} failed:\n{result}");
        }

        return result;
    }

    private static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=,@%+".Contains(c, StringComparison.Ordinal))
            ? argument
            : "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
