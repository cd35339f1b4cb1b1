using QmpExporter.Mappings;
using QmpExporter.Telemetry;
using QmpExporter.Tests.Mappings;

namespace QmpExporter.Tests.Hardening;

/// <summary>Block job ids from the peer are tracked within the VM's series cap; running jobs are never crowded out by finished ones.</summary>
public sealed class JobCapTests : IDisposable
{
    private const int Cap = 4;
    private readonly MappingHarness vm = new(maxSeriesPerVm: Cap);

    public void Dispose() => vm.Dispose();

    [Fact]
    public void Job_ids_past_the_cap_are_dropped_and_counted_and_finished_jobs_give_way_to_new_ones()
    {
        foreach (var id in (string[])["a", "b", "c", "d"])
        {
            Created(id);
        }

        for (var i = 0; i < 1000; i++)
        {
            Created($"flood-{i}");
        }

        Assert.Equal(1000, Dropped());

        // a finishes: the next new job takes its place.
        Completed("a", 10);
        Created("e");
        Assert.Equal(1000, Dropped());

        // Completions of jobs never seen cannot push out the four that run.
        for (var i = 0; i < 1000; i++)
        {
            Completed($"ghost-{i}", 1);
        }

        Assert.Equal(2000, Dropped());
        Completed("b", 20);
        Assert.Equal(20, vm.Value(BlockJobMapping.BlockJobOffset.With("job", "b").With("type", "mirror")));
        Assert.True(vm.Count(BlockJobMapping.BlockJobOffset) <= Cap);
    }

    private double? Dropped() => vm.Value(MetricCatalog.SeriesDropped.With("metric", BlockJobMapping.BlockJobOffset.Name));

    private void Created(string id) =>
        vm.Event($$$"""{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "JOB_STATUS_CHANGE", "data": {"status": "created", "id": "{{{id}}}"}}""");

    private void Completed(string id, long offset) =>
        vm.Event($$$"""{"timestamp": {"seconds": 2, "microseconds": 0}, "event": "BLOCK_JOB_COMPLETED", "data": {"device": "{{{id}}}", "len": {{{offset}}}, "offset": {{{offset}}}, "speed": 0, "type": "mirror"}}""");
}
