"""Seeing what the client does: metrics and tracing.

- :mod:`.metrics`: the core's counters and latency histogram as a dict
  (``client.metrics()``) and as Prometheus text (``client.metrics_text()``);
- :mod:`.tracing`: one OpenTelemetry span per command, for clients that opt in.
"""
