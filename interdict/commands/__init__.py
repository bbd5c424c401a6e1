"""The `interdict` subcommands, one module per group of them (crawling, the pipeline stages,
search, shipments, the service…); each command a `Command` class (interdict/commands/base.py)
that interdict/cli.py finds here."""
