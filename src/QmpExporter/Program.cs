using Microsoft.Extensions.Options;
using QmpExporter.Hosting;

try
{
    var app = ExporterApp.Build(args);
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException e)
{
    await Console.Error.WriteLineAsync("qmp-exporter: invalid configuration:");
    foreach (var failure in e.Failures)
    {
        await Console.Error.WriteLineAsync("  " + failure);
    }

    return 2;
}
