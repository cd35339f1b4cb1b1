using QmpExporter.Benchmarks;

return await Cli.RunAsync(args);
