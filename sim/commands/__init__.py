"""``fhesim`` subcommands: each module defines ``register(subparsers)``."""
