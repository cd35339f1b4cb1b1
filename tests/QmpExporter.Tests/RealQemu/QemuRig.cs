using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu;

/// <summary>
/// What a real-QEMU test starts with: a scratch dir for its images, a <see cref="QemuVm"/> (a control monitor for the
/// test, a monitor for the exporter), and an in-process exporter with <c>--vm</c> on that monitor under a unique name,
/// waited for until the VM is up. Disposed in that order's reverse: exporter, QEMU, scratch dir.
/// </summary>
internal sealed class QemuRig : IAsyncDisposable
{
    private QemuRig(ScratchDir scratch, QemuVm qemu, ExporterHost exporter, string vm, Scrape up)
    {
        Scratch = scratch;
        Qemu = qemu;
        Exporter = exporter;
        Vm = vm;
        Up = up;
    }

    public ScratchDir Scratch { get; }

    public QemuVm Qemu { get; }

    public ExporterHost Exporter { get; }

    /// <summary>The VM's name in the exporter (the <c>vm</c> label).</summary>
    public string Vm { get; }

    /// <summary>The first scrape that showed the VM up (and in <c>status</c>, when asked for).</summary>
    public Scrape Up { get; }

    /// <param name="prefix">The start of the unique VM name.</param>
    /// <param name="qemu">How to start QEMU; the arguments <paramref name="prepare"/> returns follow its <see cref="QemuVmOptions.Args"/>.</param>
    /// <param name="prepare">Creates images in the scratch dir before QEMU starts and returns further QEMU arguments.</param>
    /// <param name="status">Also wait until the exporter shows this run state (qemu_vm_status and qemu_vm_running agreeing).</param>
    /// <param name="exporterArgs">Further exporter arguments after <c>--vm</c>.</param>
    public static async Task<QemuRig> StartAsync(
        string prefix,
        QemuVmOptions? qemu = null,
        Func<ScratchDir, Task<string[]>>? prepare = null,
        string? status = null,
        IReadOnlyList<string>? exporterArgs = null)
    {
        var scratch = new ScratchDir();
        QemuVm? vm = null;
        try
        {
            qemu ??= new QemuVmOptions();
            if (prepare is not null)
            {
                qemu = qemu with { Args = [.. qemu.Args, .. await prepare(scratch)] };
            }

            vm = await QemuVm.StartAsync(qemu);
            var name = RealQemuAssert.UniqueName(prefix);
            var (exporter, up) = await AttachExporterAsync(vm, name, status, exporterArgs);
            return new QemuRig(scratch, vm, exporter, name, up);
        }
        catch
        {
            if (vm is not null)
            {
                await vm.DisposeAsync();
            }

            scratch.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts an exporter with <c>--vm <paramref name="vm"/>=</c> the QEMU's exporter monitor and waits until the VM is
    /// up (and in <paramref name="status"/>, when given); returns it with that first scrape. A test that attaches
    /// several exporters to one QEMU in turn calls this; <see cref="StartAsync"/> does for one.
    /// </summary>
    public static async Task<(ExporterHost Exporter, Scrape Up)> AttachExporterAsync(QemuVm qemu, string vm, string? status = null, IReadOnlyList<string>? exporterArgs = null)
    {
        var exporter = await ExporterHost.StartAsync(["--vm", $"{vm}={qemu.ExporterSocket}", .. exporterArgs ?? []]);
        try
        {
            var up = await exporter.WaitForAsync(
                s => s.Of(vm, "qmp_up") == 1
                     && (status is null || (s.Of(vm, "qemu_vm_status", ("status", status)) == 1 && s.Of(vm, "qemu_vm_running") == (status == "running" ? 1 : 0))),
                status is null ? $"vm {vm} up" : $"vm {vm} up and {status}");
            return (exporter, up);
        }
        catch
        {
            await exporter.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Exporter.DisposeAsync();
        await Qemu.DisposeAsync();
        Scratch.Dispose();
    }
}
