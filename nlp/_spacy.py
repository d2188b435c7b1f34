"""spaCy, imported without torch.

thinc (spaCy's machine-learning layer) imports torch when it is installed, to offer its PyTorch
wrappers (explosion/thinc#894 reports the same for TensorFlow). The enrichment never uses them: a
blank Dutch pipeline only tokenizes and looks lemmas up. With the ``transformers`` extra installed,
that import cost each enriching process 2-4 s and about 180 MB. So while spaCy is imported, torch is
marked as absent; afterwards it imports normally (the transformer backends import it themselves).
"""

import sys

_hide_torch = "torch" not in sys.modules and "spacy" not in sys.modules
if _hide_torch:
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` now raises ImportError
try:
    import spacy
    from spacy.attrs import LANG, LOWER
    from spacy.lang.de.stop_words import STOP_WORDS as DE_STOP_WORDS
    from spacy.lang.en.stop_words import STOP_WORDS as EN_STOP_WORDS
    from spacy.lang.fr.stop_words import STOP_WORDS as FR_STOP_WORDS
    from spacy.lang.nl.stop_words import STOP_WORDS as NL_STOP_WORDS
    from spacy.language import Language
    from spacy.util import load_language_data, registry
finally:
    if _hide_torch:
        del sys.modules["torch"]

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
