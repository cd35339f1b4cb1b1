using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;
using QmpExporter.Hosting;

namespace QmpExporter.Tests.Configuration;

/// <summary>A bad configuration stops the daemon at start with every failure naming its key; it never runs half-configured.</summary>
public sealed class ExporterStartupValidationTests
{
    [Fact]
    public async Task A_malformed_vm_flag_fails_at_start()
    {
        var error = await StartFailsAsync("--vm", "web1");

        var failure = Assert.Single(error.Failures);
        Assert.StartsWith("--vm 'web1'", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_vm_flag_with_a_bad_socket_fails_at_start_naming_the_socket_key()
    {
        var error = await StartFailsAsync("--vm", "web1=tcp:localhost:0");

        var failure = Assert.Single(error.Failures);
        Assert.Matches(@"^QmpExporter:Vms:\d+:Socket ", failure);
        Assert.Contains("'tcp:localhost:0'", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_configured_VM_without_a_socket_fails_at_start_naming_the_key()
    {
        var error = await StartFailsAsync("--QmpExporter:Vms:0:Name=web1", "--QmpExporter:Vms:0:Socket=", "--QmpExporter:Vms:1:Name=web1", "--QmpExporter:Vms:1:Socket=/run/qemu/b.qmp");

        Assert.Contains(error.Failures, f => f.StartsWith("QmpExporter:Vms:0:Socket is empty", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("QmpExporter:Vms:1:Name 'web1' is a duplicate", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bad_limit_fails_at_start_naming_the_key()
    {
        var error = await StartFailsAsync("--QmpExporter:MaxLineBytes=10");

        Assert.Contains(error.Failures, f => f.StartsWith("QmpExporter:MaxLineBytes ", StringComparison.Ordinal));
    }

    /// <summary>Builds and starts the exporter as Program.cs does; the failure may come from either step.</summary>
    internal static async Task<OptionsValidationException> StartFailsAsync(params string[] args)
    {
        WebApplication? app = null;
        try
        {
            app = ExporterApp.Build(["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", .. args]);
            await app.StartAsync();
            await app.StopAsync();
        }
        catch (OptionsValidationException e)
        {
            return e;
        }
        finally
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }
        }

        throw new Xunit.Sdk.XunitException("the exporter started with an unusable configuration");
    }
}
