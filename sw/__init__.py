"""fhesim software path: bit-exact RNS-CKKS in NumPy (+ numba for hot kernels).

``sw`` never imports ``hw`` or ``sim``; both of those consume the tables and
golden models defined here, so software and hardware cannot drift apart.
"""
