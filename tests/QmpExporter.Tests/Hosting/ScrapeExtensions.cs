using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Hosting;

internal static class ScrapeExtensions
{
    public static double? Vm(this Scrape scrape, string metric, string vm, params (string Name, string Value)[] labels) =>
        scrape.Value(metric, [("vm", vm), .. labels]);

    /// <summary>Connected, negotiated, and the initial query-status applied: the session is idle and waits for events.</summary>
    public static bool IsSettled(this Scrape scrape, string vm) =>
        scrape.Vm("qmp_up", vm) == 1 && scrape.Vm("qemu_vm_status", vm, ("status", "running")) == 1;
}
