using Microsoft.Extensions.Configuration;
using QmpExporter.Configuration;

namespace QmpExporter.Tests.Configuration;

/// <summary>The <c>--vm NAME=SOCKET</c> command-line shorthand, through the command-line parser.</summary>
public sealed class VmShorthandTests
{
    [Fact]
    public void Repeated_vm_flags_in_both_spellings_become_VMs_in_order_and_other_arguments_pass_through()
    {
        var (vms, rest, errors) = Extract("--vm", "web1=/run/qemu/web1.qmp", "--urls", "http://127.0.0.1:0", "--vm=db1=tcp:db-host:4444", "--vm", "x=unix:/run/x.qmp");

        Assert.Empty(errors);
        Assert.Equal(["urls=http://127.0.0.1:0"], rest);
        Assert.Equal(
            [("web1", "/run/qemu/web1.qmp"), ("db1", "tcp:db-host:4444"), ("x", "unix:/run/x.qmp")],
            vms.Select(vm => (vm.Name, vm.Socket)));
    }

    [Fact]
    public void The_name_ends_at_the_first_equals_sign()
    {
        var (vms, _, errors) = Extract("--vm", "web1=/run/qemu/a=b.qmp");

        Assert.Empty(errors);
        var vm = Assert.Single(vms);
        Assert.Equal(("web1", "/run/qemu/a=b.qmp"), (vm.Name, vm.Socket));
    }

    [Fact]
    public void Shorthand_VMs_come_after_the_VMs_of_the_configuration_files()
    {
        var settings = ExporterCommandLine.Parse(["--vm", "cli=/run/cli.qmp"]).Settings;
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["QmpExporter:Vms:0:Name"] = "file0",
                ["QmpExporter:Vms:0:Socket"] = "/run/file0.qmp",
                ["QmpExporter:Vms:1:Name"] = "file1",
                ["QmpExporter:Vms:1:Socket"] = "/run/file1.qmp",
            })
            .AddInMemoryCollection(settings)
            .Build();

        Assert.Equal(["file0", "file1", "cli"], Bind(configuration).Vms.Select(vm => vm.Name));
    }

    [Theory]
    [InlineData("--vm", "web1")]
    [InlineData("--vm", "=/run/qemu/web1.qmp")]
    [InlineData("--vm=web1")]
    public void A_malformed_vm_flag_is_an_error_that_shows_the_expected_form(params string[] args)
    {
        var (vms, rest, errors) = Extract(args);

        var error = Assert.Single(errors);
        Assert.StartsWith("--vm ", error, StringComparison.Ordinal);
        Assert.Contains("NAME=SOCKET", error, StringComparison.Ordinal);
        Assert.Empty(vms);
        Assert.Empty(rest);
    }

    [Theory]
    [InlineData("--vm")]
    [InlineData("--vm=")]
    public void A_vm_flag_without_a_value_is_a_usage_error(string arg)
    {
        var parsed = ExporterCommandLine.Parse([arg]);

        Assert.Contains("'--vm'", Assert.Single(parsed.UsageErrors), StringComparison.Ordinal);
    }

    [Fact]
    public void Arguments_that_only_start_like_the_flag_are_unknown_options_not_VMs()
    {
        var parsed = ExporterCommandLine.Parse(["--vmx", "a=b", "--QmpExporter:MaxLineBytes=4096"]);

        Assert.Equal(["unknown option '--vmx'", "unexpected argument 'a=b'"], parsed.UsageErrors);
        Assert.Empty(parsed.Settings);
        Assert.Equal(["--QmpExporter:MaxLineBytes=4096"], parsed.ConfigurationArguments);
    }

    private static (List<VmOptions> Vms, string[] Others, IReadOnlyList<string> Errors) Extract(params string[] args)
    {
        var parsed = ExporterCommandLine.Parse(args);
        Assert.Empty(parsed.UsageErrors);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(parsed.Settings).Build();
        return (Bind(configuration).Vms, [.. parsed.Settings.Where(s => !s.Key.StartsWith("QmpExporter:Vms:", StringComparison.Ordinal)).Select(s => $"{s.Key}={s.Value}"), .. parsed.ConfigurationArguments], parsed.ValueErrors);
    }

    private static ExporterOptions Bind(IConfiguration configuration)
    {
        var options = new ExporterOptions();
        configuration.GetSection(ExporterOptions.Section).Bind(options);
        return options;
    }
}
