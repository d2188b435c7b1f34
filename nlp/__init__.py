"""Dutch NLP for municipal-policy posts: language, lemmas, topics, sentiment and trust."""
