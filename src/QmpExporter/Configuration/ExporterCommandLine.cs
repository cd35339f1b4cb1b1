using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;
using QmpExporter.Telemetry;

namespace QmpExporter.Configuration;

/// <summary>
/// The command line: the options of <see cref="Options"/>, <c>--help</c>, <c>--version</c>, and .NET configuration keys
/// (<c>--Section:Key=VALUE</c> or <c>--Section:Key VALUE</c>), which go to the host's own command-line source as they
/// always did. Anything else that looks like an option is an error, so a typo never silently eats the next argument.
/// </summary>
internal sealed partial class ExporterCommandLine
{
    public const string WebConfigFileKey = "QmpExporter:WebConfigFile";
    public const string ContentRootKey = "contentRoot";
    public const string LogFormatKey = "Logging:Console:FormatterName";

    /// <summary>
    /// Every option. To add one, add a line: <see cref="CommandLineOption.Setting"/> for a single value,
    /// <see cref="CommandLineOption.ListEntry"/> for a repeatable one, or a <see cref="CommandLineOption"/> with its own
    /// translator (as <c>--vm</c>); <c>ValueWhenBare</c> makes the value optional.
    /// </summary>
    public static readonly IReadOnlyList<CommandLineOption> Options =
    [
        new(VmShorthand.Flag, "NAME=SOCKET", "A VM to watch: its name and QMP socket (a path, unix:PATH or tcp:HOST:PORT); repeatable",
            VmShorthand.Translate, Repeatable: true),
        CommandLineOption.Setting("--listen", "PATH", "QmpExporter:Listen:Path",
            "A unix socket QEMUs dial in to (-chardev socket,path=PATH,reconnect=5 -mon chardev=ID,mode=control)"),
        CommandLineOption.ListEntry("--discover", "GLOB", "QmpExporter:Discover:Globs",
            "Watch QMP sockets matching GLOB (wildcards in the file name, e.g. '/run/qemu/*.qmp'); repeatable"),
        CommandLineOption.Setting("--libvirt", "URI", "QmpExporter:Libvirt:Uri",
            "Watch every domain of a libvirt host through libvirt's event relay [default URI: qemu:///system]") with { ValueWhenBare = Libvirt.LibvirtOptions.DefaultUri },
        CommandLineOption.Setting("--urls", "URLS", "urls", "Where to serve /metrics, ';'-separated [default: http://*:9719; https:// with TLS]"),
        CommandLineOption.Setting("--web.config.file", "FILE", WebConfigFileKey,
            "TLS, basic auth and response headers, in the Prometheus exporter-toolkit web configuration format"),
        CommandLineOption.Setting("--contentRoot", "DIR", ContentRootKey, "The folder with appsettings.json [default: the binary's folder]"),
        new("--log.level", "LEVEL", "Least severe level logged [default: info]",
            (value, _, settings, _) => settings.Add(new("Logging:LogLevel:Default", LogLevelName(value))),
            Choices: ["debug", "info", "warn", "error"]),
        CommandLineOption.Setting("--log.format", "FORMAT", LogFormatKey, "Log line format [default: logfmt]", ["logfmt", "json"]),
    ];

    private const string ConfigurationHelp = """
        Configuration keys:
          Every setting can also be given as --Section:Key=VALUE (e.g. --QmpExporter:ReconnectMaxDelay=00:01:00), as an
          environment variable (QmpExporter__ReconnectMaxDelay=00:01:00) or in appsettings.json under --contentRoot;
          the OTEL_* settings of span export also as --OTEL_EXPORTER_OTLP_ENDPOINT=URL.
          Command-line options override the files. SIGHUP re-reads the files and the web configuration.
        """;

    private readonly ParseResult parsed;

    private ExporterCommandLine(ParseResult parsed, List<KeyValuePair<string, string?>> settings, List<string> passThrough, List<string> usageErrors, List<string> valueErrors)
    {
        this.parsed = parsed;
        Settings = settings;
        ConfigurationArguments = [.. passThrough];
        UsageErrors = usageErrors;
        ValueErrors = valueErrors;
    }

    /// <summary>What the options set, in order: later entries win.</summary>
    public IReadOnlyList<KeyValuePair<string, string?>> Settings { get; }

    /// <summary>The configuration-key arguments, for the host's command-line configuration source.</summary>
    public string[] ConfigurationArguments { get; }

    /// <summary>Unknown options, missing values, stray arguments: the command line cannot be run (exit code 2).</summary>
    public IReadOnlyList<string> UsageErrors { get; }

    /// <summary>Values an option rejected (a malformed <c>--vm</c>): a configuration that does not validate.</summary>
    public IReadOnlyList<string> ValueErrors { get; }

    /// <summary>Whether <c>--help</c> or <c>--version</c> was asked for; <see cref="PrintInformation"/> prints it.</summary>
    public bool AsksForInformation => parsed.Action is HelpWithConfigurationKeys or PrintVersion;

    /// <summary>The value an option (or a configuration key) set last, if any.</summary>
    public string? this[string key] => Settings.LastOrDefault(s => string.Equals(s.Key, key, StringComparison.OrdinalIgnoreCase)).Value;

    public static ExporterCommandLine Parse(IReadOnlyList<string> args)
    {
        var root = new RootCommand("QmpExporter: Prometheus metrics and OpenTelemetry spans from the QMP sockets of QEMU/KVM virtual machines.");
        root.Directives.Clear();
        foreach (var option in root.Options)
        {
            if (option is HelpOption help && help.Action is HelpAction action)
            {
                help.Action = new HelpWithConfigurationKeys(action);
            }
            else if (option is VersionOption version)
            {
                version.Action = new PrintVersion();
            }
        }

        var symbols = new List<(CommandLineOption Spec, Option Symbol)>();
        foreach (var spec in Options)
        {
            Option symbol = spec.Repeatable
                ? new Option<string[]>(spec.Name) { Arity = spec.ValueWhenBare is null ? ArgumentArity.OneOrMore : ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false }
                : new Option<string>(spec.Name) { Arity = spec.ValueWhenBare is null ? ArgumentArity.ExactlyOne : ArgumentArity.ZeroOrOne };
            symbol.Description = spec.Description;
            symbol.HelpName = spec.Choices is { } choices ? string.Join('|', choices) : spec.ValueName;
            root.Options.Add(symbol);
            symbols.Add((spec, symbol));
        }

        var parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        // Unmatched tokens are errors for the parser (so that --help lists no "additional arguments"); the ones that are
        // configuration keys are not, and the rest get a message of ours that names the option.
        var usageErrors = parsed.Errors.Where(e => e.SymbolResult is not CommandResult).Select(e => e.Message).ToList();
        var passThrough = ConfigurationKeyArguments(parsed.UnmatchedTokens, usageErrors);

        var settings = new List<KeyValuePair<string, string?>>();
        var valueErrors = new List<string>();
        foreach (var (spec, symbol) in symbols)
        {
            if (parsed.GetResult(symbol) is not { } result)
            {
                continue;
            }

            var values = result.Tokens.Select(t => t.Value).ToArray();
            if (values.Length == 0 && spec.ValueWhenBare is { } bare)
            {
                values = [bare];
            }

            for (var use = 0; use < values.Length; use++)
            {
                if (spec.Choices is { } choices && !choices.Contains(values[use], StringComparer.Ordinal))
                {
                    usageErrors.Add($"{spec.Name} '{values[use]}' is not one of {string.Join(", ", choices)}");
                    continue;
                }

                spec.Translate(values[use], use, settings, valueErrors);
            }
        }

        return new ExporterCommandLine(parsed, settings, passThrough, usageErrors, valueErrors);
    }

    /// <summary>Prints the help or the version to <paramref name="output"/>; the exit code is 0.</summary>
    public int PrintInformation(TextWriter output) =>
        parsed.Invoke(new InvocationConfiguration { Output = output, Error = output, EnableDefaultExceptionHandler = false });

    /// <summary>One line for <c>--version</c>: version, git revision, .NET runtime.</summary>
    public static string VersionLine =>
        $"qmp-exporter {ExporterMetrics.Version} (revision {ExporterMetrics.Revision}, .NET {ExporterMetrics.DotnetVersion})";

    /// <summary>
    /// The unmatched tokens that are configuration keys (a ':' in the key, or an upper-case name with '_' such as
    /// OTEL_EXPORTER_OTLP_ENDPOINT), each with its value when it is the next
    /// token; every other token is a usage error.
    /// </summary>
    private static List<string> ConfigurationKeyArguments(IReadOnlyList<string> tokens, List<string> errors)
    {
        var keys = new List<string>();
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (!token.StartsWith("--", StringComparison.Ordinal) || token.Length == 2)
            {
                errors.Add($"unexpected argument '{token}'");
                continue;
            }

            var equals = token.IndexOf('=', StringComparison.Ordinal);
            var key = equals < 0 ? token : token[..equals];
            if (!key.Contains(':', StringComparison.Ordinal) && !EnvironmentStyleKey().IsMatch(key))
            {
                errors.Add($"unknown option '{key}'");
                continue;
            }

            keys.Add(token);
            if (equals < 0)
            {
                if (i + 1 == tokens.Count)
                {
                    errors.Add($"configuration key '{key}' has no value");
                    continue;
                }

                keys.Add(tokens[++i]);
            }
        }

        return keys;
    }

    private static string LogLevelName(string level) => level switch
    {
        "debug" => "Debug",
        "warn" => "Warning",
        "error" => "Error",
        _ => "Information",
    };

    private sealed class HelpWithConfigurationKeys(HelpAction options) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            options.Invoke(parseResult);
            parseResult.InvocationConfiguration.Output.WriteLine(ConfigurationHelp);
            return 0;
        }
    }

    private sealed class PrintVersion : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(VersionLine);
            return 0;
        }
    }

    [GeneratedRegex("^--[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")]
    private static partial Regex EnvironmentStyleKey();
}
