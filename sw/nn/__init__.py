"""Encrypted CIFAR-style ResNets on RNS-CKKS (multiplexed parallel convolutions).

* :mod:`.models`: ResNet-20 ... ResNet-110, weights (``weights/*.npz``), PyTorch checkpoint loader.
* :mod:`.data`: digits data set and the ``digits8`` / ``cifar32`` geometries.
* :mod:`.plain`: NumPy references (exact, and with polynomial activations).
* :mod:`.activations`: composite minimax ReLU (Lee et al.), data-guided ReLU (seed 001).
* :mod:`.packing`: multiplexed packing and the layers as slot-linear maps.
* :mod:`.planner`: level planner (where bootstrapping goes).
* :mod:`.encrypted`: the encrypted network (also dry-run for traces).
* :mod:`.trace`: the op trace of one inference for the cycle model (fast dry run).
* :mod:`.infer`: encrypted inference of test images, agreement and logit error (``fhesim infer``).
"""
