using System.Text.RegularExpressions;
using System.Threading.Channels;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using QmpExporter.Configuration;
using QmpExporter.Hosting;
using QmpExporter.Qmp;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Sources;

/// <summary>
/// <c>QmpExporter:Discover:Globs</c>: QMP server sockets that come and go. Each directory is watched (inotify through
/// <see cref="FileSystemWatcher"/>) and listed again every <c>RescanInterval</c> as a safety net; a matching socket
/// gets a session as soon as it appears, one that disappears takes its VM away after the grace
/// (<see cref="DepartedVms"/>). A change of the globs in the configuration files applies without a restart.
/// </summary>
internal sealed class DiscoverySource(
    IConfiguration configuration,
    IOptions<ExporterOptions> options,
    VmRegistry registry,
    VmSupervisor supervisor,
    DepartedVms departed,
    TimeProvider time,
    ILoggerFactory loggers,
    SpanSource spans) : IHostedService, IVmSource, IAsyncDisposable
{
    private readonly ILogger logger = loggers.CreateLogger<DiscoverySource>();
    private readonly SessionFactory factory = new(options.Value, registry, time, loggers, spans);
    private readonly Dictionary<string, VmSession> found = new(StringComparer.Ordinal);
    private readonly HashSet<string> skipped = new(StringComparer.Ordinal);
    private readonly HashSet<string> unnamed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FileSystemWatcher> watchers = new(StringComparer.Ordinal);
    private readonly Channel<bool> changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource stopping = new();
    private DiscoverOptions settings = options.Value.Discover;
    private Regex? namePattern;
    private IDisposable? reloads;
    private Task scanning = Task.CompletedTask;

    public IReadOnlyCollection<VmSession> Sessions
    {
        get
        {
            lock (found)
            {
                return [.. found.Values];
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Use(settings);
        supervisor.AddSource(this);
        reloads = ChangeToken.OnChange(configuration.GetReloadToken, Reload);
        scanning = ScanLoopAsync(stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        reloads?.Dispose();
        await stopping.CancelAsync().ConfigureAwait(false);
        await scanning.ConfigureAwait(false);
        foreach (var watcher in watchers.Values)
        {
            watcher.Dispose();
        }

        watchers.Clear();
        foreach (var session in Sessions)
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }

        lock (found)
        {
            found.Clear();
        }
    }

    public ValueTask DisposeAsync()
    {
        reloads?.Dispose();
        stopping.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Takes the globs of a configuration change that validates; keeps the previous ones otherwise.</summary>
    private void Reload()
    {
        var next = new DiscoverOptions();
        try
        {
            configuration.GetSection(ExporterOptions.Section + ":Discover").Bind(next);
        }
        catch (InvalidOperationException e)
        {
            Log.ReloadRejected(logger, e.Message);
            return;
        }

        var errors = SocketGlob.Errors(next);
        if (!options.Value.AllowManagementSockets)
        {
            errors.AddRange(ManagementSockets.SourceErrors(new ExporterOptions { Discover = next }));
        }

        if (errors.Count > 0)
        {
            Log.ReloadRejected(logger, string.Join("; ", errors));
            return;
        }

        Use(next);
    }

    private void Use(DiscoverOptions next)
    {
        lock (watchers)
        {
            settings = next;
            namePattern = next.NamePattern.Length > 0 ? new Regex(next.NamePattern, RegexOptions.CultureInvariant) : null;
        }

        changes.Writer.TryWrite(true);
    }

    private async Task ScanLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await RescanAsync().ConfigureAwait(false);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(settings.RescanInterval);
                await changes.Reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false);
                changes.Reader.TryRead(out _);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The rescan interval passed without a change: list the directories anyway.
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Brings the sessions in line with the sockets that match now.</summary>
    private async Task RescanAsync()
    {
        List<SocketGlob> globs;
        Regex? pattern;
        lock (watchers)
        {
            globs = [.. settings.Globs.Select(SocketGlob.Parse)];
            pattern = namePattern;
        }

        Watch(globs);
        var present = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var glob in globs)
        {
            try
            {
                if (!Directory.Exists(glob.Directory))
                {
                    continue;
                }

                foreach (var file in Directory.EnumerateFiles(glob.Directory))
                {
                    var fileName = Path.GetFileName(file);
                    if (glob.Matches(fileName) && VmName(fileName, pattern) is { } name)
                    {
                        present.TryAdd(file, name);
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                SourceLog.RescanFailed(logger, glob.Directory, e.Message);
            }
        }

        foreach (var (path, session) in found.ToArray())
        {
            if (!present.TryGetValue(path, out var name) || name != session.Name)
            {
                lock (found)
                {
                    found.Remove(path);
                }

                await session.DisposeAsync().ConfigureAwait(false);
                departed.Depart(session.Name, () => ValueTask.FromResult(true));
            }
        }

        skipped.IntersectWith(present.Keys);
        foreach (var (path, name) in present)
        {
            if (found.ContainsKey(path) || skipped.Contains(path))
            {
                continue;
            }

            if (!departed.Return(name) && registry.Find(name) is not null)
            {
                skipped.Add(path);
                SourceLog.DiscoverySkipped(logger, path, $"another VM is already called {name}");
                continue;
            }

            var session = factory.Create(name, new DialConnector(new QmpEndpoint(path, null, 0)));
            lock (found)
            {
                found.Add(path, session);
            }

            session.Start();
            SourceLog.Discovered(logger, path, name);
        }
    }

    private string? VmName(string fileName, Regex? pattern)
    {
        if (pattern is null)
        {
            return Path.GetFileNameWithoutExtension(fileName) is { Length: > 0 } stem ? stem : fileName;
        }

        var match = pattern.Match(fileName);
        if (match.Success && match.Groups["name"].Value is { Length: > 0 } name)
        {
            return name;
        }

        if (unnamed.Add(fileName))
        {
            SourceLog.DiscoverySkipped(logger, fileName, "QmpExporter:Discover:NamePattern does not match it");
        }

        return null;
    }

    /// <summary>One watcher per directory that exists; a directory that appears later is picked up by a rescan.</summary>
    private void Watch(List<SocketGlob> globs)
    {
        var directories = globs.Select(g => g.Directory).ToHashSet(StringComparer.Ordinal);
        foreach (var (directory, watcher) in watchers.ToArray())
        {
            if (!directories.Contains(directory) || !Directory.Exists(directory))
            {
                watcher.Dispose();
                watchers.Remove(directory);
            }
        }

        foreach (var directory in directories)
        {
            if (watchers.ContainsKey(directory) || !Directory.Exists(directory))
            {
                continue;
            }

            try
            {
                var watcher = new FileSystemWatcher(directory) { NotifyFilter = NotifyFilters.FileName };
                watcher.Created += (_, _) => changes.Writer.TryWrite(true);
                watcher.Deleted += (_, _) => changes.Writer.TryWrite(true);
                watcher.Renamed += (_, _) => changes.Writer.TryWrite(true);
                watcher.Error += (_, _) => changes.Writer.TryWrite(true);
                watcher.EnableRaisingEvents = true;
                watchers.Add(directory, watcher);
            }
            catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
            {
                SourceLog.RescanFailed(logger, directory, e.Message);
            }
        }
    }
}
