"""Helpers that several packages (nlp, profiles, sources, warehouse) use and none of them owns."""
