"""The two identities of an article: its canonical URL and the hash of its normalised text.

Wires and aggregators deliver the same story under tracking links, with a fragment, with or
without a trailing slash, and with typographic differences (curly quotes, non-breaking spaces,
case). Both functions map those variants to one value, so the database's unique constraints
catch them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that say how a reader arrived, not which article it is.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "cmpid",
        "ncid",
        "ref_src",
        "ref_url",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "piwik_", "hsa_")
DEFAULT_PORTS = {"http": 80, "https": 443}
_WHITESPACE = re.compile(r"\s+")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def url_canonical(url: str) -> str:
    """One spelling per article URL; "" for an empty URL.

    Lower-cases scheme and host, drops default ports, user info, the fragment and tracking
    parameters, sorts the remaining parameters and drops a trailing slash (the root stays "/").
    """
    url = url.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: keep what was sent
        port = None
        netloc = parts.netloc.rpartition("@")[2].lower()
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name)
    )
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def text_normalise(text: str) -> str:
    """NFKC, casefold, punctuation to spaces, whitespace collapsed: what a reader would see."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    return _WHITESPACE.sub(" ", text).strip()


def content_hash(title: str, body: str) -> str:
    """SHA-256 (hex) of the normalised title and body; the unit separator keeps them apart."""
    normalised = f"{text_normalise(title)}\x1f{text_normalise(body)}"
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()
