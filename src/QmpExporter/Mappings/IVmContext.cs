using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>What a mapping may touch of the VM whose event it handles.</summary>
internal interface IVmContext
{
    VmSeries Series { get; }

    /// <summary>Asks the session to re-run <c>query-status</c> soon; an event says that the run state changed, not always to what.</summary>
    void RequestStatusRefresh();
}
