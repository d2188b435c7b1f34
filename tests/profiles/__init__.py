"""Tests of the profiles package."""
