"""Understanding new articles: sentiment from the served `sentiment.headline` model, topics.

`services` is the entry point (articles_understand, topic_matches_refresh,
sentiment_version_train_queue); `training` declares the model task's data, `scoring` the core's
batch-scoring handler, `article_index` the named vector index, `matching` the topic rules and
`comparison` the side-by-side report of versions on held-out analyst labels.
"""
