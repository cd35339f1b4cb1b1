using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using QmpExporter.Qmp;

namespace QmpExporter.Tests.Support;

/// <summary>One blkdebug <c>inject-error</c> rule (README of /work/shared/qemu, section 4): <c>sector</c> in 512-byte units.</summary>
internal sealed record BlkdebugRule(string Event, int Errno, string? IoType = null, long? Sector = null, bool Once = false)
{
    public const int Eio = 5;
    public const int Enospc = 28;

    public JsonObject ToJson()
    {
        var rule = new JsonObject { ["event"] = Event, ["errno"] = Errno };
        if (IoType is not null)
        {
            rule["iotype"] = IoType;
        }

        if (Sector is { } sector)
        {
            rule["sector"] = sector;
        }

        if (Once)
        {
            rule["once"] = true;
        }

        return rule;
    }
}

/// <summary>
/// The recipes of /work/shared/qemu/README.md section 4 that make a guest-less QEMU 7.2 raise each event: disk images
/// (qemu-img, qemu-io), blkdebug and quorum <c>-blockdev</c> JSON, HMP commands, SIGSTOP/SIGCONT of a test's own QEMU,
/// and reading the control monitor's events (the ground truth) back as JSON.
/// </summary>
internal static class QemuRecipes
{
    public const long JobImageBytes = 32L << 20;

    /// <summary>Where a job's VM finds its images: <c>-blockdev</c> <c>top</c> (qcow2) over <c>base</c> (qcow2, 4 MiB of data).</summary>
    public static string[] JobTopArgs(string dir) =>
        ["-blockdev", $"driver=qcow2,node-name=top,file.driver=file,file.filename={Path.Combine(dir, "top.qcow2")}"];

    /// <summary>
    /// base.qcow2 (32 MiB, 0xab in its first 4 MiB) and top.qcow2 on it (0xcd at 1 MiB..2 MiB): a block-stream copies
    /// 3 MiB, so its duration is set by its <c>speed</c>; an active commit of top has 1 MiB to commit.
    /// </summary>
    public static async Task CreateJobImagesAsync(string dir)
    {
        var baseImage = Path.Combine(dir, "base.qcow2");
        var top = Path.Combine(dir, "top.qcow2");
        await QemuImgAsync("create", "-q", "-f", "qcow2", baseImage, "32M");
        await QemuIoAsync("qcow2", baseImage, "write -P 0xab 0 4M");
        await QemuImgAsync("create", "-q", "-f", "qcow2", "-b", baseImage, "-F", "qcow2", top);
        await QemuIoAsync("qcow2", top, "write -P 0xcd 1M 1M");
    }

    /// <summary>An empty image of <paramref name="size"/> (qemu-img syntax, e.g. <c>32M</c>).</summary>
    public static Task CreateImageAsync(string path, string format, string size) => QemuImgAsync("create", "-q", "-f", format, path, size);

    /// <summary>
    /// Three 1 MiB raw children per quorum: <c>{prefix}0</c>, <c>{prefix}1</c> and <c>{prefix}2</c>.img, the last with
    /// 0x55 in its first 64 KiB, so a read at 0 outvotes it.
    /// </summary>
    public static async Task CreateQuorumImagesAsync(string dir, string prefix)
    {
        for (var i = 0; i < 3; i++)
        {
            await CreateImageAsync(Path.Combine(dir, $"{prefix}{i}.img"), "raw", "1M");
        }

        await QemuIoAsync("raw", Path.Combine(dir, $"{prefix}2.img"), "write -P 0x55 0 64k");
    }

    /// <summary>
    /// A quorum node of three raw children named <c>{child}0..2</c> over <c>{images}0..2.img</c>; the child
    /// <paramref name="failingChild"/> (if any) sits on blkdebug that fails every read with EIO.
    /// </summary>
    public static string QuorumJson(string nodeName, string dir, string images, string child, int? failingChild = null)
    {
        var children = new JsonArray();
        for (var i = 0; i < 3; i++)
        {
            var file = new JsonObject { ["driver"] = "file", ["filename"] = Path.Combine(dir, $"{images}{i}.img") };
            JsonObject protocol = i == failingChild
                ? new JsonObject { ["driver"] = "blkdebug", ["image"] = file, ["inject-error"] = new JsonArray(new BlkdebugRule("read_aio", BlkdebugRule.Eio).ToJson()) }
                : file;
            children.Add(new JsonObject { ["driver"] = "raw", ["node-name"] = $"{child}{i}", ["file"] = protocol });
        }

        return new JsonObject { ["driver"] = "quorum", ["node-name"] = nodeName, ["vote-threshold"] = 2, ["children"] = children }.ToJsonString();
    }

    /// <summary>
    /// <c>-blockdev</c> JSON of a <paramref name="format"/> node <paramref name="nodeName"/> over blkdebug (node
    /// <c>{nodeName}-dbg</c>) over <paramref name="imagePath"/>: blkdebug must sit under a format node for guest
    /// requests to hit its read_aio/write_aio events.
    /// </summary>
    public static string BlkdebugJson(string nodeName, string imagePath, IEnumerable<BlkdebugRule> rules, string format = "raw")
    {
        var injectErrors = new JsonArray();
        foreach (var rule in rules)
        {
            injectErrors.Add(rule.ToJson());
        }

        return new JsonObject
        {
            ["driver"] = format,
            ["node-name"] = nodeName,
            ["file"] = new JsonObject
            {
                ["driver"] = "blkdebug",
                ["node-name"] = nodeName + "-dbg",
                ["image"] = new JsonObject { ["driver"] = "file", ["filename"] = imagePath },
                ["inject-error"] = injectErrors,
            },
        }.ToJsonString();
    }

    public static Task QemuImgAsync(params string[] args) => ExternalTool.RunCheckedAsync("qemu-img", args);

    /// <summary><c>qemu-io -f FORMAT -c COMMAND IMAGE</c>.</summary>
    public static Task QemuIoAsync(string format, string image, string command) => ExternalTool.RunCheckedAsync("qemu-io", ["-f", format, "-c", command, image]);

    /// <summary>An HMP command through <c>human-monitor-command</c> on the control monitor; returns HMP's output.</summary>
    public static async Task<string> HmpAsync(this QemuVm vm, string commandLine)
    {
        var result = await vm.ExecuteAsync("human-monitor-command", new JsonObject { ["command-line"] = commandLine }.ToJsonString());
        return result.GetString() ?? "";
    }

    /// <summary>Runs a command with JSON arguments built from a <see cref="JsonObject"/>.</summary>
    public static Task<JsonElement> ExecuteAsync(this QemuVm vm, string command, JsonObject arguments) =>
        vm.ExecuteAsync(command, arguments.ToJsonString());

    /// <summary>
    /// Retries a command QEMU refuses for a moment (e.g. a dump right after the previous one: "dump-guest-memory in
    /// progress") until it is accepted or the deadline passes.
    /// </summary>
    public static async Task<JsonElement> ExecuteUntilAcceptedAsync(this QemuVm vm, string command, JsonObject arguments, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (true)
        {
            try
            {
                return await vm.ExecuteAsync(command, arguments.ToJsonString());
            }
            catch (QmpCommandException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }
        }
    }

    /// <summary>
    /// SIGSTOP to the test's own QEMU (by its pid): its main loop, monitors and jobs freeze, so the exporter's next
    /// query gets no reply. Undo with <see cref="Continue"/>.
    /// </summary>
    public static void Freeze(this QemuVm vm) => Signal(vm.Pid, SigStop);

    /// <summary>SIGCONT to the test's own QEMU.</summary>
    public static void Continue(this QemuVm vm) => Signal(vm.Pid, SigCont);

    /// <summary>The <c>data</c> of a control-monitor event as JSON (an empty object when it had none).</summary>
    public static JsonElement DataOf(this RecordedEvent e) =>
        JsonDocument.Parse(string.IsNullOrEmpty(e.Data) ? "{}" : e.Data).RootElement.Clone();

    /// <summary>A string member of an event's data, or null.</summary>
    public static string? Str(this RecordedEvent e, string member) =>
        e.DataOf().TryGetProperty(member, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>QEMU's timestamp of a control-monitor event, as the exporter turns it into a time.</summary>
    public static DateTimeOffset Timestamp(this RecordedEvent e) => DateTimeOffset.FromUnixTimeSeconds(e.Seconds).AddTicks(e.Microseconds * 10);

    /// <summary>
    /// The control monitor's events of one block job, in order: JOB_STATUS_CHANGE (member <c>id</c>) and BLOCK_JOB_*
    /// (member <c>device</c> or, for PENDING, <c>id</c>).
    /// </summary>
    public static IReadOnlyList<RecordedEvent> JobEvents(this QemuVm vm, string job) =>
        [.. vm.ControlEvents.Events.Where(e => (e.Name == "JOB_STATUS_CHANGE" || e.Name.StartsWith("BLOCK_JOB_", StringComparison.Ordinal))
                                               && (e.Str("id") == job || e.Str("device") == job))];

    /// <summary>Waits until the control monitor saw an event <paramref name="name"/> whose data satisfies <paramref name="match"/>.</summary>
    public static async Task<RecordedEvent> WaitForEventAsync(this QemuVm vm, string name, Func<JsonElement, bool>? match = null, TimeSpan? timeout = null)
    {
        RecordedEvent? found = null;
        await Eventually.True(() => (found = vm.ControlEvents.Events.FirstOrDefault(e => e.Name == name && (match is null || match(e.DataOf())))) is not null,
            $"a {name} event on the control monitor of {vm}", timeout ?? TimeSpan.FromSeconds(10));
        return found!;
    }

    /// <summary>Waits for the job's JOB_STATUS_CHANGE to <paramref name="status"/> on the control monitor.</summary>
    public static Task<RecordedEvent> WaitForJobStatusAsync(this QemuVm vm, string job, string status, TimeSpan? timeout = null) =>
        vm.WaitForEventAsync("JOB_STATUS_CHANGE", d => d.GetProperty("id").GetString() == job && d.GetProperty("status").GetString() == status, timeout);

    /// <summary>Waits for a MIGRATION event with <paramref name="status"/> on the control monitor.</summary>
    public static Task<RecordedEvent> WaitForMigrationAsync(this QemuVm vm, string status, TimeSpan? timeout = null) =>
        vm.WaitForEventAsync("MIGRATION", d => d.GetProperty("status").GetString() == status, timeout);

    /// <summary>Waits until the boot sector's COM1 trace contains <paramref name="marker"/> (B start, r/s int13, H halted).</summary>
    public static Task WaitForSerialAsync(this QemuVm vm, char marker, TimeSpan? timeout = null) =>
        Eventually.True(() => ReadShared(vm.SerialPath).Contains(marker, StringComparison.Ordinal),
            $"'{marker}' in the boot sector's serial trace of {vm}", timeout ?? TimeSpan.FromSeconds(10));

    /// <summary>
    /// The migration recipe's preparation on the control monitor: the <c>events</c> capability (QEMU-wide, so the
    /// exporter's monitor gets the events too) and a bandwidth cap.
    /// </summary>
    public static async Task PrepareMigrationAsync(this QemuVm vm, long maxBandwidth, long? downtimeLimitMs = null)
    {
        await vm.ExecuteAsync("migrate-set-capabilities", """{"capabilities": [{"capability": "events", "state": true}]}""");
        var parameters = new JsonObject { ["max-bandwidth"] = maxBandwidth };
        if (downtimeLimitMs is { } downtime)
        {
            parameters["downtime-limit"] = downtime;
        }

        await vm.ExecuteAsync("migrate-set-parameters", parameters);
    }

    /// <summary>
    /// Migrates a VM whose boot sector dirties RAM (<see cref="DirtyingBootSector"/>) to <c>exec:cat &gt; /dev/null</c>
    /// so that it takes at least <paramref name="minPasses"/> passes: a 1 ms downtime limit keeps precopy iterating
    /// while the guest dirties memory; once the control monitor saw pass <paramref name="minPasses"/>, bandwidth and
    /// downtime are opened up so that it completes at once. Returns the control's MIGRATION completed event.
    /// </summary>
    public static async Task<RecordedEvent> MigrateWithPassesAsync(this QemuVm vm, int minPasses)
    {
        await vm.PrepareMigrationAsync(1 << 20, downtimeLimitMs: 1);
        await vm.ExecuteAsync("migrate", """{"uri": "exec:cat > /dev/null"}""");
        await vm.WaitForEventAsync("MIGRATION_PASS", d => d.GetProperty("pass").GetInt64() >= minPasses, TimeSpan.FromSeconds(20));
        await vm.ExecuteAsync("migrate-set-parameters", """{"max-bandwidth": 1073741824, "downtime-limit": 2000}""");
        return await vm.WaitForMigrationAsync("completed", TimeSpan.FromSeconds(20));
    }

    /// <summary>The migration recipe's guest: rewrites 512 KiB of RAM every BIOS tick (55 ms).</summary>
    public static byte[] DirtyingBootSector() => BootSector.Create(flags: BootSector.Loop, dirtysegs: 8, ticks: 1);

    /// <summary>Reads a file another process keeps writing.</summary>
    public static string ReadShared(string path)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(file);
            return reader.ReadToEnd();
        }
        catch (FileNotFoundException)
        {
            return "";
        }
    }

    private const int SigCont = 18;
    private const int SigStop = 19;

    private static void Signal(int pid, int signal)
    {
        if (NativeMethods.kill(pid, signal) != 0)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}"));
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int kill(int pid, int sig);
    }
}

/// <summary>A short temp dir under /tmp for a test's images, made before its QEMU starts; deleted on dispose.</summary>
internal sealed class ScratchDir : IDisposable
{
    public ScratchDir()
    {
        while (true)
        {
            var path = "/tmp/qr-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
            if (!Directory.Exists(path))
            {
                Directory.CreateDirectory(path);
                Root = path;
                return;
            }
        }
    }

    public string Root { get; }

    public string Path(string name) => System.IO.Path.Combine(Root, name);

    /// <summary>A fresh directory under /tmp that the caller deletes (short: unix socket paths are limited to 108 bytes).</summary>
    public static string CreateTempDirectory(string prefix) => Directory.CreateTempSubdirectory($"qmpx-{prefix}-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: /tmp is cleaned anyway.
        }
    }
}
