"""Benchmarks: `make bench` (or `python -m bench.run`) seeds a database, starts the real
server and two reference servers, loads them over loopback and writes bench/results/."""
