"""The DuckDB warehouse: schema (numbered migrations), writes from the flow, researchers' views."""
