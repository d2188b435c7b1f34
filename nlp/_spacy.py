"""spaCy, imported without torch.

thinc (spaCy's machine-learning layer) imports torch when it is installed, to offer its PyTorch
wrappers (explosion/thinc#894 reports the same for TensorFlow). The enrichment never uses them: a
blank Dutch pipeline only tokenizes and looks lemmas up. With the ``transformers`` extra installed,
that import cost each enriching process 2-4 s and about 180 MB. So while spaCy is imported, torch is
marked as absent; afterwards it imports normally (the transformer backends import it themselves).

The English, German and French stop words (for telling languages apart) are read from their
``stop_words`` modules without importing the languages' packages: ``spacy.lang.fr`` compiles its
tokenizer exceptions into one large regular expression on import, some 4 s of CPU in every process
that loads the enricher, for a tokenizer the enrichment never uses.
"""

import sys
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_hide_torch = "torch" not in sys.modules and "spacy" not in sys.modules
if _hide_torch:
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` now raises ImportError
try:
    import spacy
    import spacy.lang
    from spacy.attrs import LANG, LOWER
    from spacy.lang.nl.stop_words import STOP_WORDS as NL_STOP_WORDS
    from spacy.language import Language
    from spacy.util import load_language_data, registry
finally:
    if _hide_torch:
        del sys.modules["torch"]


def _stop_words(lang: str) -> set[str]:
    """spaCy's stop words of ``lang``, from its ``stop_words`` module alone (which imports nothing)."""
    path = Path(next(iter(spacy.lang.__path__))) / lang / "stop_words.py"
    spec = spec_from_file_location(f"nlp._spacy_stop_words_{lang}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"spaCy's stop words of {lang!r} are not at {path}")
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.STOP_WORDS


DE_STOP_WORDS = _stop_words("de")
EN_STOP_WORDS = _stop_words("en")
FR_STOP_WORDS = _stop_words("fr")

__all__ = [
    "DE_STOP_WORDS",
    "EN_STOP_WORDS",
    "FR_STOP_WORDS",
    "LANG",
    "LOWER",
    "NL_STOP_WORDS",
    "Language",
    "load_language_data",
    "registry",
    "spacy",
]
