namespace QmpExporter.Tests.Deploy;

/// <summary>
/// Tests that load the machine (a NativeAOT publish keeps both cores busy for most of a minute): xUnit runs this
/// collection alone, after the parallel ones, so the timing-sensitive QEMU and exporter tests never compete with it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DeployAlone
{
    public const string Name = "Deploy: alone";
}
