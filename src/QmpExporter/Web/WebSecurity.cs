using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using QmpExporter.Configuration;
using QmpExporter.Hosting;

namespace QmpExporter.Web;

/// <summary>A start-up failure the operator can fix: one line for the log and the process's exit code.</summary>
internal sealed class StartupException(string message, int exitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// Applies <c>--web.config.file</c> to every request: TLS on every listener (certificates re-read when their files
/// change), basic auth on every path (<c>/healthz</c> included: a probe must send credentials, or use a TCP check), and
/// the configured response headers. SIGHUP re-reads the file; a file that no longer loads keeps the previous settings.
/// </summary>
internal sealed class WebSecurity
{
    /// <summary>How often a TLS handshake may look at the certificate files' timestamps.</summary>
    private static readonly TimeSpan FileCheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>Run for an unknown user, so that a wrong name costs as long as a wrong password.</summary>
    private static readonly string UnknownUserHash = BCrypt.Net.BCrypt.HashPassword("unknown user", 10);

    private readonly string? path;
    private readonly TimeProvider time;
    private readonly Lock gate = new();

    /// <summary>Passwords that matched a hash (keyed by both): bcrypt costs tens of milliseconds, each scrape would pay it.</summary>
    private readonly ConcurrentDictionary<string, bool> verified = new(StringComparer.Ordinal);

    private State state;
    private long lastFileCheck;

    private WebSecurity(string? path, State state, TimeProvider time)
    {
        this.path = path;
        this.state = state;
        this.time = time;
        lastFileCheck = time.GetTimestamp();
    }

    public ILogger Logger { get; set; } = NullLogger.Instance;

    public WebConfig Config => Volatile.Read(ref state).Config;

    /// <summary>
    /// Loads <c>--web.config.file</c> (when given) and its certificates, sets the default listen address (https:// with
    /// TLS) and puts TLS on every listener.
    /// </summary>
    /// <exception cref="StartupException">The file is invalid (exit code 2), a certificate cannot be read (1), or a URL's scheme contradicts it (2).</exception>
    public static WebSecurity AddTo(WebApplicationBuilder builder, string defaultUrls)
    {
        var path = builder.Configuration[ExporterCommandLine.WebConfigFileKey] is { Length: > 0 } file ? file : null;
        State initial;
        try
        {
            initial = Load(path);
        }
        catch (WebConfigException e)
        {
            throw new StartupException(e.Message, 2);
        }
        catch (CertificateException e)
        {
            throw new StartupException(e.Message, 1);
        }

        var security = new WebSecurity(path, initial, TimeProvider.System);
        var tls = initial.Config.Tls is not null;
        var urls = builder.Configuration[WebHostDefaults.ServerUrlsKey];
        if (string.IsNullOrEmpty(urls))
        {
            urls = tls ? defaultUrls.Replace("http://", "https://", StringComparison.Ordinal) : defaultUrls;
            builder.WebHost.UseUrls(urls);
        }

        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var https = url.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            if (https != tls)
            {
                throw new StartupException(
                    tls ? $"listen URL {url}: with tls_server_config in {path} every URL must be https://"
                        : $"listen URL {url}: https:// needs tls_server_config in a --web.config.file",
                    2);
            }
        }

        if (tls)
        {
            var callback = new TlsHandshakeCallbackOptions { OnConnection = _ => ValueTask.FromResult(security.ServerOptions()) };
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.UseHttps(callback)));
        }

        return security;
    }

    /// <summary>Headers and basic auth, ahead of every endpoint.</summary>
    public void Use(WebApplication app) => app.Use(async (context, next) =>
    {
        var config = Config;
        foreach (var (name, value) in config.Headers)
        {
            context.Response.Headers[name] = value;
        }

        if (config.Users.Count > 0 && !Authorized(config, context.Request.Headers.Authorization.ToString()))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"qmp-exporter\"";
            await context.Response.WriteAsync("Unauthorized\n").ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    });

    /// <summary>Re-reads the file and its certificates; on failure logs why and keeps what it had.</summary>
    public void Reload()
    {
        if (path is null)
        {
            return;
        }

        try
        {
            var loaded = Load(path);
            var tlsBefore = Config.Tls is not null;
            if ((loaded.Config.Tls is not null) != tlsBefore)
            {
                throw new WebConfigException($"web config {path}: adding or removing tls_server_config needs a restart (the listeners are set up at start)");
            }

            lock (gate)
            {
                Volatile.Write(ref state, loaded);
                verified.Clear();
            }

            Log.WebConfigLoaded(Logger, path, loaded.Config.Tls is not null, loaded.Config.Users.Count);
        }
        catch (Exception e) when (e is WebConfigException or CertificateException)
        {
            Log.WebConfigRejected(Logger, e.Message);
        }
    }

    private static State Load(string? path)
    {
        var config = path is null ? WebConfig.None : WebConfig.Load(path);
        return new State(config, config.Tls is { } tls ? TlsMaterial.Load(tls) : null);
    }

    private SslServerAuthenticationOptions ServerOptions()
    {
        var now = time.GetTimestamp();
        if (time.GetElapsedTime(Interlocked.Read(ref lastFileCheck), now) >= FileCheckInterval)
        {
            Interlocked.Exchange(ref lastFileCheck, now);
            ReloadCertificatesIfChanged();
        }

        var current = Volatile.Read(ref state);
        var tls = current.Config.Tls!;
        var material = current.Tls!;
        return new SslServerAuthenticationOptions
        {
            ServerCertificateContext = material.Certificate,
            EnabledSslProtocols = tls.Protocols,
            ClientCertificateRequired = tls.ClientAuth != ClientAuth.NoClientCert,
            RemoteCertificateValidationCallback = (_, certificate, _, _) => ClientCertificateAccepted(tls.ClientAuth, material.ClientCas, certificate),
            ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
        };
    }

    private void ReloadCertificatesIfChanged()
    {
        var current = Volatile.Read(ref state);
        if (current.Tls is not { } material || !material.FilesChanged())
        {
            return;
        }

        try
        {
            var reloaded = TlsMaterial.Load(current.Config.Tls!);
            lock (gate)
            {
                if (ReferenceEquals(state, current))
                {
                    Volatile.Write(ref state, current with { Tls = reloaded });
                }
            }

            Log.CertificateReloaded(Logger, current.Config.Tls!.CertFile, reloaded.Subject, reloaded.NotAfter);
        }
        catch (CertificateException e)
        {
            // Half-written files during a renewal look like this; the next handshake after the next change retries.
            material.AcceptCurrentFiles();
            Log.CertificateReloadFailed(Logger, e.Message);
        }
    }

    private static bool ClientCertificateAccepted(ClientAuth auth, X509Certificate2Collection? cas, X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return auth is ClientAuth.NoClientCert or ClientAuth.RequestClientCert or ClientAuth.VerifyClientCertIfGiven;
        }

        if (auth is not (ClientAuth.VerifyClientCertIfGiven or ClientAuth.RequireAndVerifyClientCert))
        {
            return true;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(cas!);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var presented = new X509Certificate2(certificate);
        return chain.Build(presented);
    }

    private bool Authorized(WebConfig config, string header)
    {
        const string scheme = "Basic ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        string credentials;
        try
        {
            credentials = Encoding.UTF8.GetString(Convert.FromBase64String(header[scheme.Length..].Trim()));
        }
        catch (FormatException)
        {
            return false;
        }

        var colon = credentials.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return false;
        }

        var user = credentials[..colon];
        var password = credentials[(colon + 1)..];
        if (!config.Users.TryGetValue(user, out var hash))
        {
            BCrypt.Net.BCrypt.Verify(password, UnknownUserHash);
            return false;
        }

        var key = hash + ":" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(password)));
        if (verified.ContainsKey(key))
        {
            return true;
        }

        if (!BCrypt.Net.BCrypt.Verify(password, hash))
        {
            return false;
        }

        if (verified.Count >= 64)
        {
            verified.Clear();
        }

        verified[key] = true;
        return true;
    }

    private sealed record State(WebConfig Config, TlsMaterial? Tls);
}
