"""The ``betrokken`` subcommands, one module per group of users; ``flows.cli`` assembles them."""
