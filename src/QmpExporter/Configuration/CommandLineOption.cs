namespace QmpExporter.Configuration;

/// <summary>
/// One command-line option: what it is called, the value it takes, its help text, and the configuration settings each
/// use of it becomes. Options only ever set configuration keys, so whatever reads a key gets it the same way from a
/// file, an environment variable or the command line.
/// </summary>
/// <param name="ValueWhenBare">Given, the option may stand without a value and then means this one.</param>
internal sealed record CommandLineOption(
    string Name,
    string ValueName,
    string Description,
    CommandLineOption.Translator Translate,
    bool Repeatable = false,
    string? ValueWhenBare = null,
    string[]? Choices = null)
{
    /// <summary>Repeated options add list entries from this index on, after any entries of the configuration files.</summary>
    public const int FirstListIndex = 10_000;

    /// <summary>Adds the settings for the <paramref name="use"/>th use (0-based) of the option, or an error to <paramref name="errors"/>.</summary>
    public delegate void Translator(string value, int use, List<KeyValuePair<string, string?>> settings, List<string> errors);

    /// <summary>An option that sets one configuration key.</summary>
    public static CommandLineOption Setting(string name, string valueName, string key, string description, string[]? choices = null) =>
        new(name, valueName, description, (value, _, settings, _) => settings.Add(new(key, value)), Choices: choices);

    /// <summary>A repeatable option: each use appends its value to the list at <paramref name="key"/>.</summary>
    public static CommandLineOption ListEntry(string name, string valueName, string key, string description) =>
        new(name, valueName, description, (value, use, settings, _) => settings.Add(new($"{key}:{FirstListIndex + use}", value)), Repeatable: true);
}
