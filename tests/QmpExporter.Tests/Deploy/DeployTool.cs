using System.Diagnostics;
using Xunit.Sdk;

namespace QmpExporter.Tests.Deploy;

/// <summary>What a tool run printed and how long it took, for assertions and failure messages.</summary>
internal sealed record DeployToolResult(string CommandLine, int ExitCode, string StdOut, string StdErr, TimeSpan Elapsed)
{
    public string Output => StdOut + StdErr;

    public override string ToString() =>
        $"$ {CommandLine}\nexit code {ExitCode} after {Elapsed.TotalSeconds:F1} s\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}

/// <summary>
/// Runs the deploy checks' real tools (systemd-analyze, systemd-sysusers, helm, node, promtool, dotnet, the scripts)
/// as processes with argument lists, never through a shell. A missing tool fails the test with how to get it: these
/// checks never skip.
/// </summary>
internal static class DeployTool
{
    public const string InstallHint =
        "run the tests through scripts/test.sh (CI's entry point), or `. scripts/tools.sh` in your shell first: it installs " +
        "the checking tools when missing (systemd-analyze and systemd-sysusers from Debian's systemd, promtool from prometheus, " +
        "helm into .tools/bin, kubernetes-models, js-yaml and typescript by npm ci in tools/) and puts them on PATH";

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The repository root: the first folder above the test binaries holding QmpExporter.sln.</summary>
    public static string Root { get; } = FindRoot();

    public static string ChartDir => Path.Combine(Root, "deploy", "helm", "qmp-exporter");

    public static string SystemdDir => Path.Combine(Root, "deploy", "systemd");

    /// <summary>The tool's full path: a path as given, else .tools/bin, then PATH.</summary>
    public static string Find(string name)
    {
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(name) ? name : throw new XunitException($"{name} does not exist");
        }

        var path = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (var dir in path.Prepend(Path.Combine(Root, ".tools", "bin")))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new XunitException($"{name} was not found in .tools/bin or on PATH: {InstallHint}.");
    }

    public static async Task<DeployToolResult> RunAsync(
        string name,
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(Find(name))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workingDirectory ?? Root,
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
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
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

        var result = new DeployToolResult(commandLine, process.ExitCode, await stdout, await stderr, clock.Elapsed);
        if (result.ExitCode == 127 || result.StdErr.Contains("ERR_MODULE_NOT_FOUND", StringComparison.Ordinal))
        {
            // A script's "command not found", or node missing the npm packages of tools/.
            throw new XunitException($"{name} could not run a program or module it needs: {InstallHint}.\n{result}");
        }

        return result;
    }

    /// <summary>Runs the tool and fails the test, with everything it printed, unless it exits 0.</summary>
    public static async Task<DeployToolResult> RunCheckedAsync(
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

    /// <summary>A fresh directory under /tmp (short: unix socket paths are limited to 108 bytes).</summary>
    public static string CreateTempDirectory(string prefix) =>
        Directory.CreateTempSubdirectory($"qmpx-{prefix}-").FullName;

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "QmpExporter.sln")))
            {
                return dir.FullName;
            }
        }

        throw new XunitException($"no QmpExporter.sln above {AppContext.BaseDirectory}: run the tests from the repository");
    }

    private static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=,@%+".Contains(c, StringComparison.Ordinal))
            ? argument
            : "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
