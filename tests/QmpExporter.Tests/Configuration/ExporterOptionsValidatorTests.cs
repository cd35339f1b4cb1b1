using QmpExporter.Configuration;

namespace QmpExporter.Tests.Configuration;

/// <summary>Every validation message names the configuration key to fix.</summary>
public sealed class ExporterOptionsValidatorTests
{
    private static readonly ExporterOptionsValidator Validator = new();

    [Fact]
    public void A_valid_section_passes()
    {
        var result = Validator.Validate(null, Options(("web1", "/run/qemu/web1.qmp"), ("db1", "unix:/run/qemu/db1.qmp"), ("remote", "tcp:[::1]:4444")));

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void A_duplicate_VM_name_names_both_keys()
    {
        var result = Validator.Validate(null, Options(("web1", "/run/qemu/a.qmp"), ("db1", "/run/qemu/b.qmp"), ("web1", "/run/qemu/c.qmp")));

        var failure = Assert.Single(result.Failures!);
        Assert.Contains("QmpExporter:Vms:2:Name", failure, StringComparison.Ordinal);
        Assert.Contains("'web1'", failure, StringComparison.Ordinal);
        Assert.Contains("QmpExporter:Vms:0:Name", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void An_empty_VM_name_names_the_key(string name)
    {
        var result = Validator.Validate(null, Options(("web1", "/run/qemu/a.qmp"), (name, "/run/qemu/b.qmp")));

        var failure = Assert.Single(result.Failures!);
        Assert.StartsWith("QmpExporter:Vms:1:Name is empty", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("tcp:localhost:0", "'tcp:localhost:0'")]
    [InlineData("/run/qemu/web1.qmp,server=on,wait=off", "chardev options")]
    [InlineData("host:4444", "'host:4444'")]
    public void An_empty_or_malformed_socket_names_the_key_and_the_problem(string socket, string problem)
    {
        var result = Validator.Validate(null, Options(("web1", "/run/qemu/a.qmp"), ("db1", socket)));

        var failure = Assert.Single(result.Failures!);
        Assert.StartsWith("QmpExporter:Vms:1:Socket ", failure, StringComparison.Ordinal);
        Assert.Contains(problem, failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_is_reported_not_just_the_first()
    {
        var result = Validator.Validate(null, Options(("", ""), ("web1", "tcp:h:99999")));

        Assert.Equal(3, result.Failures!.Count());
    }

    [Fact]
    public void Limits_and_durations_name_their_key()
    {
        var options = new ExporterOptions
        {
            MaxLineBytes = 100,
            GreetingTimeout = TimeSpan.Zero,
            ReconnectMinDelay = TimeSpan.FromSeconds(10),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
        };

        var failures = Validator.Validate(null, options).Failures!.ToList();

        Assert.Contains(failures, f => f.StartsWith("QmpExporter:MaxLineBytes ", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("QmpExporter:GreetingTimeout ", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("QmpExporter:ReconnectMaxDelay ", StringComparison.Ordinal) && f.Contains("ReconnectMinDelay", StringComparison.Ordinal));
    }

    private static ExporterOptions Options(params (string Name, string Socket)[] vms) =>
        new() { Vms = [.. vms.Select(vm => new VmOptions { Name = vm.Name, Socket = vm.Socket })] };
}
