using QmpExporter.Hosting;

namespace QmpExporter.Sources;

/// <summary>Something that keeps VM sessions of its own (dial-ins, discovered sockets) beside the configured ones.</summary>
internal interface IVmSource
{
    IReadOnlyCollection<VmSession> Sessions { get; }
}
