"""``fhesim bench`` targets: each module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> pandas.DataFrame``."""
