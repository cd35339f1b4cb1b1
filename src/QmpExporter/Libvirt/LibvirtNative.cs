using System.Runtime.InteropServices;

namespace QmpExporter.Libvirt;

/// <summary>
/// The part of libvirt's C API the exporter uses (Debian's libvirt0: libvirt.so.0 and libvirt-qemu.so.0), bound with
/// source-generated P/Invoke so the NativeAOT binary needs no runtime marshalling. The libraries are loaded on first
/// use only, so a host without libvirt runs every other source.
/// </summary>
internal static unsafe partial class LibvirtNative
{
    public const string Library = "libvirt.so.0";
    public const string QemuLibrary = "libvirt-qemu.so.0";

    /// <summary>virConnectListAllDomains: only running (and paused) domains.</summary>
    public const uint ListDomainsActive = 1;

    /// <summary>virDomainGetBlockJobInfo: bandwidth in bytes per second, not MiB/s.</summary>
    public const uint BlockJobInfoBandwidthBytes = 1;

    /// <summary>virDomainGetJobStats: the statistics of the last completed job, not the running one.</summary>
    public const uint JobStatsCompleted = 1;

    public const int EventIdLifecycle = 0;
    public const int EventIdBlockJob2 = 16;

    [StructLayout(LayoutKind.Sequential)]
    public struct BlockJobInfo
    {
        public int Type;
        public nuint Bandwidth;
        public ulong Cur;
        public ulong End;
    }

    [LibraryImport(Library)]
    public static partial int virInitialize();

    [LibraryImport(Library)]
    public static partial int virEventRegisterDefaultImpl();

    [LibraryImport(Library)]
    public static partial int virEventRunDefaultImpl();

    [LibraryImport(Library)]
    public static partial void virSetErrorFunc(nint userData, delegate* unmanaged<nint, nint, void> handler);

    [LibraryImport(Library)]
    public static partial nint virGetLastErrorMessage();

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint virConnectOpen(string? name);

    [LibraryImport(Library)]
    public static partial int virConnectClose(nint conn);

    [LibraryImport(Library)]
    public static partial int virConnectSetKeepAlive(nint conn, int interval, uint count);

    [LibraryImport(Library)]
    public static partial int virConnectRegisterCloseCallback(nint conn, delegate* unmanaged<nint, int, nint, void> callback, nint opaque, nint freeCallback);

    [LibraryImport(Library)]
    public static partial int virConnectUnregisterCloseCallback(nint conn, delegate* unmanaged<nint, int, nint, void> callback);

    [LibraryImport(Library)]
    public static partial int virConnectGetVersion(nint conn, out ulong version);

    [LibraryImport(Library)]
    public static partial int virConnectListAllDomains(nint conn, out nint* domains, uint flags);

    [LibraryImport(Library)]
    public static partial int virConnectDomainEventRegisterAny(nint conn, nint dom, int eventId, void* callback, nint opaque, nint freeCallback);

    [LibraryImport(Library)]
    public static partial int virConnectDomainEventDeregisterAny(nint conn, int callbackId);

    [LibraryImport(QemuLibrary)]
    public static partial int virConnectDomainQemuMonitorEventRegister(nint conn, nint dom, nint eventName,
        delegate* unmanaged<nint, nint, nint, long, uint, nint, nint, void> callback, nint opaque, nint freeCallback, uint flags);

    [LibraryImport(QemuLibrary)]
    public static partial int virConnectDomainQemuMonitorEventDeregister(nint conn, int callbackId);

    [LibraryImport(Library)]
    public static partial int virDomainFree(nint dom);

    [LibraryImport(Library)]
    public static partial int virDomainRef(nint dom);

    [LibraryImport(Library)]
    public static partial nint virDomainGetConnect(nint dom);

    /// <summary>The domain's id: new for every run of the domain.</summary>
    [LibraryImport(Library)]
    public static partial uint virDomainGetID(nint dom);

    [LibraryImport(Library)]
    public static partial nint virDomainGetName(nint dom);

    [LibraryImport(Library)]
    public static partial int virDomainGetUUIDString(nint dom, byte* buffer);

    [LibraryImport(Library)]
    public static partial int virDomainGetState(nint dom, out int state, out int reason, uint flags);

    [LibraryImport(Library)]
    public static partial nint virDomainGetXMLDesc(nint dom, uint flags);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int virDomainGetBlockJobInfo(nint dom, string disk, out BlockJobInfo info, uint flags);

    [LibraryImport(Library)]
    public static partial int virDomainGetJobStats(nint dom, out int type, out nint parameters, out int count, uint flags);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int virTypedParamsGetInt(nint parameters, int count, string name, out int value);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int virTypedParamsGetULLong(nint parameters, int count, string name, out ulong value);

    [LibraryImport(Library)]
    public static partial void virTypedParamsFree(nint parameters, int count);

    /// <summary>A UTF-8 C string owned by libvirt (or null) as a managed string.</summary>
    public static string? Utf8(nint text) => text == 0 ? null : Marshal.PtrToStringUTF8(text);

    /// <summary>A UTF-8 C string libvirt allocated for the caller, freed here.</summary>
    public static string? TakeUtf8(nint text)
    {
        try
        {
            return Utf8(text);
        }
        finally
        {
            NativeMemory.Free((void*)text);
        }
    }

    public static string LastError() => Utf8(virGetLastErrorMessage()) ?? "unknown libvirt error";

    public static string DomainName(nint dom) => Utf8(virDomainGetName(dom)) ?? "";

    public static string DomainUuid(nint dom)
    {
        var buffer = stackalloc byte[37];
        return virDomainGetUUIDString(dom, buffer) == 0 ? Marshal.PtrToStringUTF8((nint)buffer) ?? "" : "";
    }
}
