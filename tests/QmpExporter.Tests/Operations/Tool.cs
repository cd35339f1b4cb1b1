using System.Diagnostics;
using System.Text;
using Xunit.Sdk;

namespace QmpExporter.Tests.Operations;

/// <summary>What a tool run printed, for assertions and failure messages.</summary>
internal sealed record ToolResult(string CommandLine, int ExitCode, string StdOut, string StdErr)
{
    public string Output => StdOut + StdErr;

    public override string ToString() => $"$ {CommandLine}\nexit code {ExitCode}\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}

/// <summary>
/// The operator-kit checking tools (promtool, amtool, prometheus, tsc, js-yaml, qemu-img, qemu-io), run as processes
/// with argument lists. A missing tool fails the test with the command that installs it: these checks never skip.
/// </summary>
internal static class Tool
{
    public const string InstallHint =
        "run scripts/test.sh (CI's entry point): it sources scripts/tools.sh, which installs the operator-kit tools when " +
        "missing (promtool and prometheus from Debian's prometheus, amtool from prometheus-alertmanager, qemu-img and " +
        "qemu-io from qemu-utils, tsc and js-yaml by npm ci in tools/, node from nodejs) and puts them on PATH";

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The tool's path: tools/node_modules/.bin, .tools/bin, then PATH.</summary>
    public static string Find(string name)
    {
        string[] own = [Path.Combine(Repo.Root, "tools", "node_modules", ".bin"), Path.Combine(Repo.Root, ".tools", "bin")];
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

    public static async Task<ToolResult> RunAsync(string name, IEnumerable<string> arguments, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(Find(name))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workingDirectory ?? Repo.Root,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var commandLine = string.Join(' ', start.ArgumentList.Prepend(name).Select(Quote));
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {commandLine}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new XunitException($"{commandLine} did not finish within {(timeout ?? DefaultTimeout).TotalSeconds} s\n{await stdout}\n{await stderr}");
        }

        var result = new ToolResult(commandLine, process.ExitCode, await stdout, await stderr);
        if (result.ExitCode == 127)
        {
            // The shell's "command not found", e.g. from a script's #! line.
            throw new XunitException($"{name} could not run a program it needs: {InstallHint}.\n{result}");
        }

        return result;
    }

    /// <summary>Runs the tool and fails the test, with everything it printed, unless it exits 0.</summary>
    public static async Task<ToolResult> RunCheckedAsync(string name, IEnumerable<string> arguments, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var result = await RunAsync(name, arguments, workingDirectory, timeout);
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

/// <summary>Reads YAML through js-yaml (pinned in tools/package.json) as JSON.</summary>
internal static class Yaml
{
    public static async Task<System.Text.Json.JsonElement> LoadAsync(string path)
    {
        var result = await Tool.RunCheckedAsync("js-yaml", [path]);
        using var document = System.Text.Json.JsonDocument.Parse(Encoding.UTF8.GetBytes(result.StdOut));
        return document.RootElement.Clone();
    }
}
