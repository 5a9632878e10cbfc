"""The seeded demo world and load generators, reusable by tests and benchmarks."""
