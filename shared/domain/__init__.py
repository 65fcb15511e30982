"""Building blocks of every service's domain layer: no I/O, no clock, no randomness."""
