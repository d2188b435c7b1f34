"""The old name of bench/warehouse_queries.py, left only for ``bench/pipeline.py``'s import.

bench/pipeline.py is being changed elsewhere; once it imports ``bench.warehouse_queries`` this file
goes, and with it the last module in bench/ named like the ``warehouse`` package.
"""

from bench.warehouse_queries import code_line, machine_line, maxrss_mb

__all__ = ["code_line", "machine_line", "maxrss_mb"]
