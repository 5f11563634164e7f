"""Financial news sentiment quality: fine-tuning techniques for `sentiment.headline` compared on
Financial PhraseBank (or any `train.csv` / `test.csv` pair), scored through the serving path.

See bench/sentiment_quality.py for usage and bench/sentimentquality/data.py for the split.
"""
