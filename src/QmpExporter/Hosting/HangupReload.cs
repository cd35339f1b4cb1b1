using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using QmpExporter.Web;

namespace QmpExporter.Hosting;

/// <summary>
/// SIGHUP (<c>systemctl reload</c>, <c>kill -HUP</c>) re-reads every configuration source, which applies as a file
/// change does, and the web configuration. Without this the runtime's default action would end the process.
/// </summary>
internal sealed class HangupReload(IConfiguration configuration, WebSecurity security, ILogger<HangupReload> logger) : IHostedService, IDisposable
{
    private PosixSignalRegistration? registration;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            _ = Task.Run(Reload);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        registration?.Dispose();
        registration = null;
    }

    private void Reload()
    {
        Log.Hangup(logger);
        ((IConfigurationRoot)configuration).Reload();
        security.Reload();
    }
}
