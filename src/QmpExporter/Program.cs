using Microsoft.Extensions.Options;
using QmpExporter.Configuration;
using QmpExporter.Hosting;
using QmpExporter.Web;

// Exit codes: 0 a clean stop (SIGTERM) or --help/--version; 1 a start-up failure (port in use, unreadable
// certificate); 2 a command line or configuration that cannot work (restarting cannot fix it).
var commandLine = ExporterCommandLine.Parse(args);
if (commandLine.AsksForInformation)
{
    return commandLine.PrintInformation(Console.Out);
}

if (commandLine.UsageErrors.Count > 0)
{
    foreach (var error in commandLine.UsageErrors)
    {
        await Console.Error.WriteLineAsync($"qmp-exporter: {error} (see --help)");
    }

    return 2;
}

try
{
    var app = ExporterApp.Build(commandLine);
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException e)
{
    await Console.Error.WriteLineAsync("qmp-exporter: invalid configuration: " + string.Join("; ", e.Failures));
    return 2;
}
catch (StartupException e)
{
    await Console.Error.WriteLineAsync("qmp-exporter: " + e.Message);
    return e.ExitCode;
}
catch (IOException e) when (e.Message.StartsWith("Failed to bind", StringComparison.Ordinal))
{
    // Kestrel's message names the address and the cause ("address already in use").
    await Console.Error.WriteLineAsync("qmp-exporter: cannot listen: " + e.Message);
    return 1;
}
