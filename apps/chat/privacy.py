"""Mask personal data before anything is stored, indexed or shown to a model."""

from __future__ import annotations

import re

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# 13-19 digits, optionally grouped by spaces or dashes (card numbers)
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# international or national phone numbers: 7-15 digits with common separators
PHONE = re.compile(r"(?<![\w])(?:\+|00)?\d[\d ().-]{5,18}\d(?![\w])")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")


def _luhn_ok(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for index, char in enumerate(digits):
        value = int(char)
        if index % 2 == parity:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[card]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")


def _mask_phone(match: re.Match[str]) -> str:
    """International form (+/00) from 7 digits, national form from 10: order numbers survive."""
    raw = match.group(0)
    digits = re.sub(r"\D", "", raw)
    if DATE.match(raw.strip()):
        return raw
    international = raw.startswith(("+", "00"))
    if (international and 7 <= len(digits) <= 15) or 10 <= len(digits) <= 15:
        return "[phone]"
    return raw


def mask_pii(text: str) -> str:
    """E-mail addresses, card numbers (Luhn-valid), IBANs and phone numbers become tokens."""
    text = EMAIL.sub("[email]", text)
    text = IBAN.sub("[iban]", text)
    text = CARD.sub(_mask_card, text)
    return PHONE.sub(_mask_phone, text)
