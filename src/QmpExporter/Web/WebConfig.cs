using System.Security.Authentication;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace QmpExporter.Web;

/// <summary>A file named by <c>--web.config.file</c> that cannot be used; the message names the file and the key.</summary>
internal sealed class WebConfigException(string message) : Exception(message);

/// <summary>How a TLS client must identify itself: the values of exporter-toolkit's <c>client_auth_type</c>.</summary>
internal enum ClientAuth
{
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

internal sealed record TlsSettings(string CertFile, string KeyFile, ClientAuth ClientAuth, string? ClientCaFile, SslProtocols Protocols);

/// <summary>
/// The web configuration file of Prometheus exporters (github.com/prometheus/exporter-toolkit, docs/web-configuration.md),
/// the subset that applies here: <c>tls_server_config</c> (<c>cert_file</c>, <c>key_file</c>, <c>client_auth_type</c>,
/// <c>client_ca_file</c>, <c>min_version</c>), <c>basic_auth_users</c> (bcrypt hashes) and
/// <c>http_server_config.headers</c>. Any other key is an error that names it, never silently ignored. Relative paths
/// are relative to the file's folder, as exporter-toolkit resolves them.
/// </summary>
internal sealed partial record WebConfig(TlsSettings? Tls, IReadOnlyDictionary<string, string> Users, IReadOnlyDictionary<string, string> Headers)
{
    /// <summary>No file: plain HTTP, no authentication.</summary>
    public static readonly WebConfig None = new(null, new Dictionary<string, string>(), new Dictionary<string, string>());

    /// <summary>The headers exporter-toolkit lets a configuration set.</summary>
    private static readonly string[] AllowedHeaders =
        ["Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "X-XSS-Protection", "Content-Security-Policy"];

    /// <exception cref="WebConfigException">The file cannot be read, is not YAML, or has a key or value that is not supported.</exception>
    public static WebConfig Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WebConfigException($"web config {path}: cannot read it: {e.Message}");
        }

        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        try
        {
            var yaml = new YamlStream();
            yaml.Load(new StringReader(text));
            if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
            {
                return None;
            }

            var root = Mapping(yaml.Documents[0].RootNode, "");
            CheckKeys(root, "", "tls_server_config", "http_server_config", "basic_auth_users");
            var tls = root.Children.TryGetValue(new YamlScalarNode("tls_server_config"), out var tlsNode) ? ParseTls(Mapping(tlsNode, "tls_server_config"), folder) : null;
            var users = root.Children.TryGetValue(new YamlScalarNode("basic_auth_users"), out var usersNode) ? ParseUsers(usersNode) : new Dictionary<string, string>();
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (root.Children.TryGetValue(new YamlScalarNode("http_server_config"), out var httpNode))
            {
                var http = Mapping(httpNode, "http_server_config");
                CheckKeys(http, "http_server_config.", "headers");
                if (http.Children.TryGetValue(new YamlScalarNode("headers"), out var headersNode))
                {
                    foreach (var (name, value) in Pairs(headersNode, "http_server_config.headers"))
                    {
                        var allowed = AllowedHeaders.FirstOrDefault(h => h.Equals(name, StringComparison.OrdinalIgnoreCase))
                            ?? throw new WebConfigException($"http_server_config.headers.{name} is not supported (one of {string.Join(", ", AllowedHeaders)})");
                        headers[allowed] = value;
                    }
                }
            }

            return new WebConfig(tls, users, headers);
        }
        catch (WebConfigException e)
        {
            throw new WebConfigException($"web config {path}: {e.Message}");
        }
        catch (YamlException e)
        {
            throw new WebConfigException($"web config {path}: not valid YAML at line {e.Start.Line}: {e.Message}");
        }
    }

    private static TlsSettings ParseTls(YamlMappingNode node, string folder)
    {
        CheckKeys(node, "tls_server_config.", "cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version");
        string? Value(string key) => node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? Scalar(value, "tls_server_config." + key) : null;
        string? File(string key) => Value(key) is { Length: > 0 } file ? Path.Combine(folder, file) : null;

        var cert = File("cert_file") ?? throw new WebConfigException("tls_server_config.cert_file is missing");
        var key = File("key_file") ?? throw new WebConfigException("tls_server_config.key_file is missing");
        var clientAuth = Value("client_auth_type") is { Length: > 0 } auth
            ? Enum.TryParse<ClientAuth>(auth, out var parsed) && Enum.IsDefined(parsed) ? parsed
                : throw new WebConfigException($"tls_server_config.client_auth_type '{auth}' is not one of {string.Join(", ", Enum.GetNames<ClientAuth>())}")
            : ClientAuth.NoClientCert;
        var clientCa = File("client_ca_file");
        if (clientCa is not null && clientAuth == ClientAuth.NoClientCert)
        {
            throw new WebConfigException("tls_server_config.client_ca_file is set but client_auth_type is NoClientCert");
        }

        if (clientCa is null && clientAuth is ClientAuth.VerifyClientCertIfGiven or ClientAuth.RequireAndVerifyClientCert)
        {
            throw new WebConfigException($"tls_server_config.client_auth_type {clientAuth} needs client_ca_file");
        }

        var protocols = Value("min_version") switch
        {
            null or "" or "TLS12" => SslProtocols.Tls12 | SslProtocols.Tls13,
            "TLS13" => SslProtocols.Tls13,
#pragma warning disable SYSLIB0039, CA5397 // an operator asked for them, as exporter-toolkit allows
            "TLS10" => SslProtocols.Tls | SslProtocols.Tls11 | SslProtocols.Tls12 | SslProtocols.Tls13,
            "TLS11" => SslProtocols.Tls11 | SslProtocols.Tls12 | SslProtocols.Tls13,
#pragma warning restore SYSLIB0039, CA5397
            var other => throw new WebConfigException($"tls_server_config.min_version '{other}' is not one of TLS10, TLS11, TLS12, TLS13"),
        };
        return new TlsSettings(cert, key, clientAuth, clientCa, protocols);
    }

    private static Dictionary<string, string> ParseUsers(YamlNode node)
    {
        var users = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (user, hash) in Pairs(node, "basic_auth_users"))
        {
            if (!BcryptHash().IsMatch(hash))
            {
                throw new WebConfigException($"basic_auth_users.{user} is not a bcrypt hash (make one with htpasswd -nBC 10 \"\" | tr -d ':\\n')");
            }

            users[user] = hash;
        }

        return users;
    }

    private static YamlMappingNode Mapping(YamlNode node, string key) => node switch
    {
        YamlMappingNode mapping => mapping,
        YamlScalarNode { Value: null or "" } => new YamlMappingNode(),
        _ => throw new WebConfigException($"{(key.Length == 0 ? "the file" : key)} must be a mapping"),
    };

    private static string Scalar(YamlNode node, string key) =>
        node is YamlScalarNode scalar ? scalar.Value ?? "" : throw new WebConfigException($"{key} must be a single value");

    private static IEnumerable<(string Key, string Value)> Pairs(YamlNode node, string key) =>
        Mapping(node, key).Children.Select(pair => (Scalar(pair.Key, key), Scalar(pair.Value, $"{key}.{Scalar(pair.Key, key)}")));

    private static void CheckKeys(YamlMappingNode node, string prefix, params string[] supported)
    {
        foreach (var key in node.Children.Keys)
        {
            var name = Scalar(key, prefix.TrimEnd('.'));
            if (!supported.Contains(name, StringComparer.Ordinal))
            {
                throw new WebConfigException($"{prefix}{name} is not supported here (supported: {string.Join(", ", supported.Select(s => prefix + s))})");
            }
        }
    }

    [GeneratedRegex(@"^\$2[abxy]?\$[0-9]{2}\$[./A-Za-z0-9]{53}$")]
    private static partial Regex BcryptHash();
}
