"""fhesim hardware generators (Amaranth 0.5). ``hw`` may import ``sw`` but never ``sim``."""
