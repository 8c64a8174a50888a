"""fhesim simulation, verification, cycle model, reports and the ``fhesim`` command line."""
