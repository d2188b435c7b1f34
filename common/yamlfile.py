"""Reading the YAML files the project ships (word lists, the profile model, gazetteers, messages)."""

from __future__ import annotations

from typing import Any

import yaml

# libyaml's parser where PyYAML was built with it: the profile model and the report's messages
# took 0.3 s each to parse in pure Python, in every stage that reads them.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load`` with the fast loader; raises ``yaml.YAMLError`` alike."""
    return yaml.load(text, Loader=_LOADER)
