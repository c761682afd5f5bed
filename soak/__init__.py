"""Heavy reliability runs (``make soak``): API fuzzing with many examples and the loopback
load test with faults. The quick versions of both run inside ``make test``."""
