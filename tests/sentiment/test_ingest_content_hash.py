"""The content hash ignores what a reader would not notice and sees every word that differs."""

from __future__ import annotations

from apps.sentiment.ingest.canonical import content_hash, text_normalise


def test_case_punctuation_whitespace_and_compatibility_forms_do_not_change_the_hash() -> None:
    original = content_hash("Acme cuts guidance", "Shares fell 5% in early trade.")
    variants = [
        ("ACME CUTS GUIDANCE", "shares fell 5% in early trade"),
        ("Acme  cuts\tguidance!", "Shares fell 5% in early trade…"),
        ("“Acme” cuts guidance", "Shares\u00a0fell 5% in early trade."),
        ("Ａｃｍｅ cuts guidance", "Shares fell 5% in early trade."),  # full-width letters
    ]
    assert {content_hash(title, body) for title, body in variants} == {original}


def test_a_different_word_or_number_changes_the_hash() -> None:
    original = content_hash("Acme cuts guidance", "Shares fell 5%.")
    assert content_hash("Acme raises guidance", "Shares fell 5%.") != original
    assert content_hash("Acme cuts guidance", "Shares fell 6%.") != original


def test_title_and_body_stay_apart() -> None:
    assert content_hash("Acme cuts", "guidance") != content_hash("Acme", "cuts guidance")


def test_normalised_text_is_what_a_reader_sees() -> None:
    assert text_normalise("  Ｓhares\u00a0FELL—sharply!! ") == "shares fell sharply"
