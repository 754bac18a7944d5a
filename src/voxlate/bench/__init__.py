"""Benchmark runners (`voxlate bench ...`) and the benchmark records: they time the whole
product (pipeline, server, batch) and sit just below the CLI; the metrics they report live in
voxlate.eval."""
