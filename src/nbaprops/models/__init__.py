"""Models: the systems and their distributions, training, the registry, calibration and the market blend."""
