"""One module per CLI command: `configure(parser)` adds its options, `main(args)` runs it and returns the exit code."""
