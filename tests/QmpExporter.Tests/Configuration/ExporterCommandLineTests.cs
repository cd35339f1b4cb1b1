using QmpExporter.Configuration;

namespace QmpExporter.Tests.Configuration;

/// <summary>The command line: options become configuration settings; .NET configuration keys pass through to the host.</summary>
public sealed class ExporterCommandLineTests
{
    [Fact]
    public void Configuration_keys_pass_through_in_both_spellings_and_options_become_settings()
    {
        var parsed = ExporterCommandLine.Parse([
            "--QmpExporter:MaxLineBytes=4096", "--QmpExporter:ReconnectMaxDelay", "00:01:00", "--OTEL_SERVICE_NAME=x",
            "--urls", "http://127.0.0.1:0", "--web.config.file=/etc/web.yml", "--log.level", "warn", "--log.format", "json"]);

        Assert.Empty(parsed.UsageErrors);
        Assert.Equal(["--QmpExporter:MaxLineBytes=4096", "--QmpExporter:ReconnectMaxDelay", "00:01:00", "--OTEL_SERVICE_NAME=x"], parsed.ConfigurationArguments);
        Assert.Equal("http://127.0.0.1:0", parsed["urls"]);
        Assert.Equal("/etc/web.yml", parsed[ExporterCommandLine.WebConfigFileKey]);
        Assert.Equal("Warning", parsed["Logging:LogLevel:Default"]);
        Assert.Equal("json", parsed[ExporterCommandLine.LogFormatKey]);
    }

    [Theory]
    [InlineData("--help", "--urls", "X")]
    [InlineData("--version")]
    [InlineData("-h")]
    public void Help_and_version_win_over_everything_else(params string[] args) =>
        Assert.True(ExporterCommandLine.Parse(args).AsksForInformation);

    [Theory]
    [InlineData("--QmpExporter:MaxLineBytes", "configuration key '--QmpExporter:MaxLineBytes' has no value")]
    [InlineData("--log.format=xml", "--log.format 'xml' is not one of logfmt, json")]
    [InlineData("--Otel_service_name=x", "unknown option '--Otel_service_name'")]
    [InlineData("web1=/run/qemu/web1.qmp", "unexpected argument 'web1=/run/qemu/web1.qmp'")]
    public void Mistakes_are_usage_errors_that_say_what_is_wrong(string arg, string error)
    {
        var parsed = ExporterCommandLine.Parse([arg]);

        Assert.False(parsed.AsksForInformation);
        Assert.Equal(error, Assert.Single(parsed.UsageErrors));
    }

    [Fact]
    public void Each_option_is_listed_once_with_a_description()
    {
        var names = ExporterCommandLine.Options.Select(o => o.Name).ToList();

        Assert.Equal(names.Distinct(StringComparer.Ordinal), names);
        Assert.All(ExporterCommandLine.Options, o => Assert.False(string.IsNullOrWhiteSpace(o.Description)));
    }
}
