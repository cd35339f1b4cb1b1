using QmpExporter.Mappings;
using QmpExporter.Telemetry;

namespace QmpExporter.Tests.Mappings;

public sealed class MigrationMappingTests : IDisposable
{
    private readonly MappingHarness vm = new();

    public void Dispose() => vm.Dispose();

    [Fact]
    public void A_migration_moves_through_statuses_and_passes()
    {
        vm.Event("""{"timestamp": {"seconds": 1795624783, "microseconds": 56980}, "event": "MIGRATION", "data": {"status": "setup"}}""");
        Assert.Equal(0, vm.Value(MigrationMapping.MigrationPass));
        Assert.True(vm.Vm.MigrationActive);

        vm.Event("""{"timestamp": {"seconds": 1795624783, "microseconds": 61528}, "event": "MIGRATION_PASS", "data": {"pass": 1}}""");
        vm.Event("""{"timestamp": {"seconds": 1795624783, "microseconds": 61690}, "event": "MIGRATION", "data": {"status": "active"}}""");
        vm.Event("""{"timestamp": {"seconds": 1449669631, "microseconds": 239225}, "event": "MIGRATION_PASS", "data": {"pass": 2}}""");
        Assert.Equal(2, vm.Value(MigrationMapping.MigrationPass));
        Assert.Equal(1, vm.Value(MigrationMapping.MigrationStatus.With("status", "active")));
        Assert.Equal(0, vm.Value(MigrationMapping.MigrationStatus.With("status", "setup")));

        vm.Event("""{"timestamp": {"seconds": 1432121972, "microseconds": 744001}, "event": "MIGRATION", "data": {"status": "completed"}}""");
        Assert.Equal(1, vm.Value(MigrationMapping.Migrations.With("result", "completed")));
        Assert.Equal(1, vm.Value(MigrationMapping.MigrationStatus.With("status", "completed")));
        Assert.False(vm.Vm.MigrationActive);
        Assert.Equal(2, vm.Value(MigrationMapping.MigrationPass));
    }

    [Fact]
    public void Failed_and_cancelled_migrations_count_by_result()
    {
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "MIGRATION", "data": {"status": "cancelling"}}""");
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 1}, "event": "MIGRATION", "data": {"status": "cancelled"}}""");
        vm.Event("""{"timestamp": {"seconds": 1795624785, "microseconds": 419550}, "event": "MIGRATION", "data": {"status": "failed"}}""");

        Assert.Equal(1, vm.Value(MigrationMapping.Migrations.With("result", "cancelled")));
        Assert.Equal(1, vm.Value(MigrationMapping.Migrations.With("result", "failed")));
        Assert.Null(vm.Value(MigrationMapping.Migrations.With("result", "cancelling")));
    }

    [Fact]
    public void Query_migrate_on_connect_restores_status_and_pass()
    {
        var polling = new PollSettings(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15), TimeSpan.FromMinutes(5));
        vm.Reply<MigrationMapping>("{}");
        Assert.Equal(0, vm.Count(MigrationMapping.MigrationStatus));

        vm.Reply<MigrationMapping>("""{"status": "active", "total-time": 1200, "ram": {"transferred": 123, "remaining": 456, "total": 134217728, "dirty-sync-count": 3}}""");
        Assert.Equal(3, vm.Value(MigrationMapping.MigrationPass));
        Assert.Equal(1, vm.Value(MigrationMapping.MigrationStatus.With("status", "active")));
        Assert.Equal(TimeSpan.FromSeconds(1), EventMappings.Queries.OfType<MigrationMapping>().Single().PollInterval(vm.Vm, polling));
    }
}
