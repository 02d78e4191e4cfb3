"""The omnicrud benchmark harness (see bench/README.md). Not part of the test suite."""
