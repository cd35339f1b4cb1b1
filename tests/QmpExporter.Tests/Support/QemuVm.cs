using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using QmpExporter.Qmp;

namespace QmpExporter.Tests.Support;

/// <summary>How to start a <see cref="QemuVm"/>.</summary>
internal sealed record QemuVmOptions
{
    /// <summary>Extra QEMU arguments after the common base; <c>{dir}</c> in any of them becomes the VM's temp dir.</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>
    /// A boot sector (see <see cref="BootSector.Create"/>) written to <c>{dir}/boot.img</c>, padded to 1 MiB, before the
    /// first start; null for none.
    /// </summary>
    public byte[]? BootSector { get; init; }

    /// <summary>
    /// Attach boot.img as <c>-drive file=boot.img,format=raw,if=ide,index=0</c>; false when <see cref="Args"/> wires
    /// <c>{dir}/boot.img</c> up itself (blkdebug, -blockdev, ...).
    /// </summary>
    public bool AttachBootImage { get; init; } = true;
}

/// <summary>
/// A real <c>qemu-system-x86_64 -M pc -m 128 -nodefaults -display none</c> (TCG, no guest OS) in a short temp dir
/// under /tmp, with two QMP monitors: <see cref="ExporterSocket"/> for the exporter under test and a control monitor
/// held by the test through <see cref="Control"/>. QEMU hands every event to every monitor with the identical
/// timestamp, so <see cref="ControlEvents"/> is the ground truth the exporter's metrics are compared with.
/// QEMU's stdout/stderr go to <see cref="LogPath"/> (appended across restarts) and the COM1 trace of the boot sector
/// to <see cref="SerialPath"/>.
/// </summary>
internal sealed class QemuVm : IAsyncDisposable
{
    public const string QemuBinary = "qemu-system-x86_64";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private static readonly QmpClientOptions ControlOptions = new() { GreetingTimeout = TimeSpan.FromSeconds(5), CommandTimeout = TimeSpan.FromSeconds(10) };

    private readonly string qemuPath;
    private readonly List<string> arguments;
    private Process? process;
    private QmpClient? control;
    private bool disposed;

    private QemuVm(string qemuPath, string directory, QemuVmOptions options)
    {
        this.qemuPath = qemuPath;
        Directory = directory;
        ExporterSocket = System.IO.Path.Combine(directory, "exporter.qmp");
        ControlSocket = System.IO.Path.Combine(directory, "control.qmp");
        LogPath = System.IO.Path.Combine(directory, "qemu.log");
        SerialPath = System.IO.Path.Combine(directory, "serial.log");
        arguments =
        [
            "-M", "pc", "-m", "128", "-nodefaults", "-display", "none",
            "-qmp", $"unix:{ExporterSocket},server=on,wait=off",
            "-qmp", $"unix:{ControlSocket},server=on,wait=off",
            "-serial", $"file:{SerialPath}",
        ];
        if (options.BootSector is { } sector)
        {
            Support.BootSector.WriteImage(BootImagePath, sector);
            if (options.AttachBootImage)
            {
                arguments.AddRange(["-drive", $"file={BootImagePath},format=raw,if=ide,index=0"]);
            }
        }

        arguments.AddRange(options.Args.Select(a => a.Replace("{dir}", directory, StringComparison.Ordinal)));
    }

    /// <summary>The VM's temp dir (short, under /tmp; deleted by <see cref="DisposeAsync"/>).</summary>
    public string Directory { get; }

    /// <summary>The monitor for the exporter: <c>--vm NAME=</c> this.</summary>
    public string ExporterSocket { get; }

    /// <summary>The monitor <see cref="Control"/> is connected to.</summary>
    public string ControlSocket { get; }

    public string LogPath { get; }

    public string SerialPath { get; }

    public string BootImagePath => Path("boot.img");

    /// <summary>The full QEMU command line after the binary, as started (and restarted).</summary>
    public IReadOnlyList<string> Arguments => arguments;

    /// <summary>The test's own QMP session on the control monitor (negotiated); replaced by <see cref="RestartAsync"/>.</summary>
    public QmpClient Control => control ?? throw new InvalidOperationException("the control monitor is not connected");

    /// <summary>Every event the control monitor received, across restarts.</summary>
    public RecordingHandler ControlEvents { get; } = new();

    public int Pid => CurrentProcess.Id;

    public bool HasExited => CurrentProcess.HasExited;

    public int ExitCode => CurrentProcess.ExitCode;

    private Process CurrentProcess => process ?? throw new InvalidOperationException("QEMU was not started");

    /// <summary>Starts QEMU with these extra arguments and connects <see cref="Control"/>.</summary>
    /// <exception cref="InvalidOperationException">qemu-system-x86_64 is not installed, or QEMU did not come up (its log is in the message).</exception>
    public static Task<QemuVm> StartAsync(params string[] args) => StartAsync(new QemuVmOptions { Args = args });

    /// <inheritdoc cref="StartAsync(string[])"/>
    public static async Task<QemuVm> StartAsync(QemuVmOptions options)
    {
        var qemu = ExternalTool.Find(QemuBinary);
        var directory = CreateShortTempDir();
        QemuVm? vm = null;
        try
        {
            vm = new QemuVm(qemu, directory, options);
            await vm.LaunchAsync();
            return vm;
        }
        catch
        {
            if (vm is not null)
            {
                await vm.DisposeAsync();
            }
            else
            {
                System.IO.Directory.Delete(directory, recursive: true);
            }

            throw;
        }
    }

    /// <summary>A path inside <see cref="Directory"/>.</summary>
    public string Path(string name) => System.IO.Path.Combine(Directory, name);

    /// <summary>Runs a command on the control monitor and returns its <c>return</c> value.</summary>
    public Task<JsonElement> ExecuteAsync(string command, string? argumentsJson = null, CancellationToken cancellationToken = default) =>
        Control.ExecuteAsync(command, argumentsJson, cancellationToken);

    /// <summary>SIGKILL to our QEMU and wait for it: no event, the socket files stay behind (connect → ECONNREFUSED).</summary>
    public void Kill()
    {
        var p = CurrentProcess;
        if (!p.HasExited)
        {
            p.Kill();
        }

        if (!p.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            throw new InvalidOperationException($"QEMU pid {p.Id} did not exit after SIGKILL");
        }
    }

    /// <summary>Waits for QEMU to exit on its own (quit, guest power-off, ...) and returns its exit status.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        var p = CurrentProcess;
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"QEMU pid {p.Id} did not exit in time; log:\n{ReadLog()}");
        }

        return p.ExitCode;
    }

    /// <summary>
    /// Starts QEMU again, after it exited or was <see cref="Kill"/>ed, with the same arguments on the same socket
    /// paths (QEMU replaces stale socket files), and reconnects <see cref="Control"/>; <see cref="ControlEvents"/> goes on.
    /// </summary>
    public async Task RestartAsync()
    {
        if (!CurrentProcess.HasExited)
        {
            throw new InvalidOperationException("QEMU is still running: Kill() it or quit it first");
        }

        await DisposeControlAsync();
        CurrentProcess.Dispose();
        process = null;
        await LaunchAsync();
    }

    /// <summary>QEMU's stdout and stderr so far.</summary>
    public string ReadLog()
    {
        try
        {
            using var file = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(file);
            return reader.ReadToEnd();
        }
        catch (IOException e)
        {
            return $"(no log: {e.Message})";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        await DisposeControlAsync();
        if (process is { } p)
        {
            // Only ever the process we started, by the handle we got for it.
            try
            {
                if (!p.HasExited)
                {
                    p.Kill();
                    p.WaitForExit(TimeSpan.FromSeconds(10));
                }
            }
            catch (InvalidOperationException)
            {
                // Never started or already reaped.
            }

            p.Dispose();
            process = null;
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: /tmp is cleaned anyway.
        }
    }

    public override string ToString() => $"QEMU pid {process?.Id} in {Directory}";

    /// <summary>/tmp/qv-XXXXXXXX: socket paths stay far below the 107-byte sun_path limit.</summary>
    private static string CreateShortTempDir()
    {
        while (true)
        {
            var path = "/tmp/qv-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
            if (!System.IO.Directory.Exists(path))
            {
                System.IO.Directory.CreateDirectory(path);
                return path;
            }
        }
    }

    private async Task LaunchAsync()
    {
        // sh redirects, then execs QEMU: the pid we hold is QEMU's own, and its output lands in the log file
        // even if the test host dies.
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = Directory };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec </dev/null >>\"$0\" 2>&1; exec \"$@\"");
        start.ArgumentList.Add(LogPath);
        start.ArgumentList.Add(qemuPath);
        foreach (var arg in arguments)
        {
            start.ArgumentList.Add(arg);
        }

        process = Process.Start(start) ?? throw new InvalidOperationException("could not start /bin/sh for QEMU");
        control = await ConnectControlAsync();
    }

    /// <summary>Polls connect on the control socket until QEMU greets, QEMU exits, or the deadline passes.</summary>
    private async Task<QmpClient> ConnectControlAsync()
    {
        var endpoint = new QmpEndpoint(ControlSocket, null, 0);
        var deadline = Stopwatch.StartNew();
        Exception? last = null;
        while (deadline.Elapsed < StartTimeout)
        {
            if (CurrentProcess.HasExited)
            {
                throw new InvalidOperationException(
                    $"QEMU exited with status {CurrentProcess.ExitCode} before its control monitor greeted; command: {QemuBinary} {string.Join(' ', arguments)}\nlog:\n{ReadLog()}");
            }

            try
            {
                return await QmpClient.ConnectAsync(endpoint, ControlEvents, ControlOptions, CancellationToken.None);
            }
            catch (QmpConnectException e)
            {
                // Not listening yet, or the stale socket of a killed QEMU not yet replaced.
                last = e;
            }
            catch (QmpDisconnectedException e)
            {
                // Accepted by a QEMU that then died: the next round reports its exit.
                last = e;
            }

            await Task.Delay(10);
        }

        throw new InvalidOperationException(
            $"QEMU's control monitor {ControlSocket} did not come up within {StartTimeout.TotalSeconds} s ({last?.Message}); log:\n{ReadLog()}", last);
    }

    private async Task DisposeControlAsync()
    {
        if (control is { } c)
        {
            control = null;
            await c.DisposeAsync();
        }
    }
}
