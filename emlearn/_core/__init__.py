"""The shared EM engine: log-space primitives, the driver, the Gaussian family."""
