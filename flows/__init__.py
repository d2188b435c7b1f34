"""Orchestration: the nightly Prefect flow, its configuration and the ``betrokken`` command."""
