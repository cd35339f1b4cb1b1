using System.Runtime.InteropServices;

namespace QmpExporter.Libvirt;

/// <summary>
/// libvirt's default event loop on a thread of its own: it delivers domain events, the relayed QMP events, keepalives
/// and the close callback. libvirt allows one default implementation per process, registered before the first
/// connection opens, so it is started once and runs as long as the process.
/// </summary>
internal static unsafe class LibvirtEventLoop
{
    private static readonly Lock Gate = new();
    private static bool started;

    /// <summary>Starts the loop unless it runs; throws <see cref="DllNotFoundException"/> when libvirt is missing.</summary>
    public static void EnsureStarted()
    {
        lock (Gate)
        {
            if (started)
            {
                return;
            }

            if (LibvirtNative.virInitialize() != 0)
            {
                throw new InvalidOperationException("virInitialize failed: " + LibvirtNative.LastError());
            }

            // libvirt prints every error to stderr unless a handler is set; the exporter logs what matters itself.
            LibvirtNative.virSetErrorFunc(0, &IgnoreError);
            if (LibvirtNative.virEventRegisterDefaultImpl() != 0)
            {
                throw new InvalidOperationException("virEventRegisterDefaultImpl failed: " + LibvirtNative.LastError());
            }

            var thread = new Thread(Run) { IsBackground = true, Name = "libvirt event loop" };
            thread.Start();
            started = true;
        }
    }

    private static void Run()
    {
        while (true)
        {
            if (LibvirtNative.virEventRunDefaultImpl() < 0)
            {
                // A failing poll must not spin a core; libvirt retries interrupted polls itself, so this is rare.
                Thread.Sleep(100);
            }
        }
    }

    [UnmanagedCallersOnly]
    private static void IgnoreError(nint userData, nint error)
    {
    }
}
