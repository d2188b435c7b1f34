"""The enrichment pipeline: spaCy ``nl`` with the lookup lemmatizer, then language, topics,
sentiment and trust per post. Built once per process; texts go through ``nlp.pipe`` in batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import chain, islice

from nlp._spacy import LANG, LOWER, Language, spacy
from nlp.language import NL_STOP_WORDS, decide, word_vote
from nlp.normalise import fold_repeats, normalise
from nlp.sentiment import LexiconSentiment
from nlp.topics import TopicHit, TopicMatcher
from nlp.trust import TrustDetector
from nlp.version import BackendOptions, nlp_version

MAX_CHARS = 20_000  # longer posts are cut before tokenising; the rest rarely changes the labels


@dataclass(frozen=True, slots=True)
class Enrichment:
    """What NLP says about one post. ``words`` (lemmas and forms) feed profile evidence only."""

    language: str
    topics: tuple[TopicHit, ...]
    sentiment: str
    sentiment_score: float
    trust: str
    n_tokens: int
    words: frozenset[str]
    lower_text: str


def build_nlp() -> Language:
    """A blank Dutch pipeline with the lookup lemmatizer (tables from spacy-lookups-data)."""
    nlp = spacy.blank("nl")
    # Each new word form becomes a lexeme with some twenty attributes (shape, like_url, is_stop...);
    # the enrichment reads only LOWER, and open-vocabulary text makes new forms all the time.
    getters = nlp.vocab.lex_attr_getters
    nlp.vocab.lex_attr_getters = {LOWER: getters[LOWER], LANG: getters[LANG]}
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp


class _Word:
    """Everything the enrichment needs about one lowercased word form, computed once per process.

    A plain slotted class: compared and hashed by identity, which is what a per-document set needs.
    """

    __slots__ = ("alpha", "dutch", "form", "lemma", "polarity", "space", "topic_hits", "vote")

    def __init__(
        self,
        form: str,
        lemma: str,
        vote: int,
        dutch: bool,
        polarity: float | None,
        topic_hits: tuple[tuple[str, str], ...],
    ) -> None:
        self.form = form
        self.lemma = lemma
        self.space = form.isspace() or not form
        self.alpha = form.isalpha()
        self.vote = vote
        self.dutch = dutch
        self.polarity = polarity
        self.topic_hits = topic_hits


class Enricher:
    """Runs the whole default enrichment; one instance per process (see ``get_enricher``).

    Words repeat a lot across posts, so everything per word form (lemma, language vote, lexicon
    polarity, topic evidence) is computed once and cached by the lowercased form, and the tokens of
    each whitespace-free piece of text are cached by the piece; per piece only a dict lookup remains.
    """

    CACHE_LIMIT = 500_000

    def __init__(self, options: BackendOptions | None = None) -> None:
        self.options = options or BackendOptions()
        self.nlp = build_nlp()
        self.topics = TopicMatcher()
        self.sentiment = LexiconSentiment()
        self.trust = TrustDetector()
        table = self.nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
        self._lemma_table = table
        self._dutch_lemmas = frozenset(table.values())
        self._not_opinion = self.sentiment.negators | self.sentiment.contrast | {".", "!", "?", ";"}
        self._words: dict[str, _Word] = {}
        self._chunks: dict[str, tuple[_Word, ...]] = {}
        self._exceptions = frozenset(self.nlp.tokenizer.rules)
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
        self.topic_fallback = None  # embeddings for the texts the taxonomy leaves without a topic
        if self.options.topic_embeddings:
            from nlp.embeddings import EmbeddingTopics

            self.topic_fallback = EmbeddingTopics(self.topics.topics, self.options.embedding_threshold)

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
        lemma = self._lemma_table.get(form, form)
        polarity = None if form in self._not_opinion else self.sentiment.polarity(form, lemma)
        dutch = (
            form in NL_STOP_WORDS
            or form in self._dutch_lemmas
            or form in self._lemma_table
            or form in self.sentiment.lexicon
            or form in self.sentiment.intensifiers
        )
        hits = self.topics.token_hits(form, lemma)
        return _Word(form, lemma, word_vote(form), dutch, polarity, hits)

    def _cached_word(self, lower: str) -> _Word:
        """``_word`` of a lowercased token, computed once per process (until the cache is emptied)."""
        info = self._words.get(lower)
        if info is None:
            info = self._words[lower] = self._word(lower)
        return info

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
            new = list(pieces)
        rest = []
        for text in new:
            # Letters only: one token, as spaCy would make it (no prefix, suffix or infix rule
            # applies), found without it; its few alphabetic exceptions ("xD") are left to it.
            if text.isalpha() and text not in self._exceptions:
                self._chunks[text] = (self._cached_word(text.lower()),)
            else:
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
        if self.sentiment_backend is None and self.topic_backend is None and self.topic_fallback is None:
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
                    results[i] = replace(results[i], sentiment=s.label, sentiment_score=s.score)
            if self.topic_backend is not None and dutch:
                for i, hits in zip(dutch, self.topic_backend.predict([chunk[i] for i in dutch]), strict=True):
                    topics = tuple(TopicHit(topic_id, p, ("zero-shot",)) for topic_id, p in hits)
                    results[i] = replace(results[i], topics=topics)
            if self.topic_fallback is not None and (bare := [i for i in dutch if not results[i].topics]):
                for i, hits in zip(bare, self.topic_fallback.predict([chunk[i] for i in bare]), strict=True):
                    topics = tuple(TopicHit(topic_id, p, ("embedding",)) for topic_id, p in hits)
                    results[i] = replace(results[i], topics=topics)
            yield from results

    def tokens(self, text: str) -> list[_Word]:
        """The non-space tokens of a normalised text, as spaCy's tokenizer makes them."""
        pieces = text.split()
        self._learn(set(pieces))
        return self._known_tokens(pieces)

    def _known_tokens(self, pieces: list[str]) -> list[_Word]:
        """The tokens of pieces that ``_learn`` has cached, in order."""
        return list(chain.from_iterable(map(self._chunks.__getitem__, pieces)))

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
        nl = en = known = n_alpha = 0
        for info in infos:
            if info.alpha:
                n_alpha += 1
                known += info.dutch
                if info.vote > 0:
                    nl += 1
                elif info.vote < 0:
                    en += 1
        language = decide(nl, en, known, n_alpha)
        lower_text = text.lower()
        unique = set(infos)
        words = frozenset(i.form for i in unique).union(i.lemma for i in unique)
        if language == "nl":
            hits = [hit for i in unique for hit in i.topic_hits]
            topics = tuple(self.topics.collect(hits, lower_text))
            forms = [i.form for i in infos]
            sentiment = self.sentiment.score(forms, [i.polarity for i in infos], lower_text)
            trust = self.trust.detect(lower_text)
            label, score = sentiment.label, sentiment.score
        else:
            topics, label, score, trust = (), "neutral", 0.0, "neutral"
        return Enrichment(language, topics, label, score, trust, len(infos), words, lower_text)


@lru_cache(maxsize=4)
def get_enricher(options: BackendOptions | None = None) -> Enricher:
    """The process-wide enricher: loading spaCy and the lexicons takes about a second."""
    return Enricher(options)
