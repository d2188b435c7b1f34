"""Engagement-profile models as data, per-voice evidence, share estimation and the reach gap."""
