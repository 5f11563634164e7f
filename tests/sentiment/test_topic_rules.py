"""Alias, ticker and keyword rules: whole words, case rules for tickers, one reason each."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.sentiment.models import Topic
from apps.sentiment.understanding.matching import TopicRules, topic_terms_clean


def rules(*, aliases=(), tickers=(), keywords=()) -> TopicRules:  # noqa: ANN001
    topic = Topic(
        id=7, name="t", aliases=list(aliases), tickers=list(tickers), keywords=list(keywords)
    )
    return TopicRules.of(topic)


def reason(rule: TopicRules, *texts: str) -> tuple[str, str] | None:
    found = rule.match(texts)
    return None if found is None else (found.method, found.matched_text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ford recalls 300,000 trucks", ("alias", "Ford")),
        ("FORD RECALLS TRUCKS", ("alias", "Ford")),
        ("shares of ford fell", ("alias", "Ford")),
        ("Ford's profit slumps", ("alias", "Ford")),
        ("Stafford council approves budget", None),
        ("Fordham University endowment grows", None),
    ],
)
def test_alias_is_a_case_insensitive_whole_word(text, expected):  # noqa: ANN001
    assert reason(rules(aliases=["Ford"]), text) == expected


def test_multi_word_alias_with_punctuation_tolerates_spacing():
    rule = rules(aliases=["AT&T", "Apple Inc."])
    assert reason(rule, "AT&T cuts prices") == ("alias", "AT&T")
    assert reason(rule, "Apple  Inc. results") == ("alias", "Apple Inc.")
    assert reason(rule, "MAT&Tech merger") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("F shares drop after recall", ("ticker", "F")),
        ("Traders sold $f on Monday", ("ticker", "F")),
        ("(NYSE: F) fell 3%", ("ticker", "F")),
        ("what the f is this", None),  # lower case is a word, not the ticker
        ("F-150 sales rise", ("ticker", "F")),  # '-' is no word character
        ("FF shares rise", None),
        ("Stock F2 rallies", None),
    ],
)
def test_bare_ticker_only_in_upper_case_and_dollar_ticker_in_any_case(text, expected):  # noqa: ANN001
    assert reason(rules(tickers=["F"]), text) == expected


def test_in_a_shouted_text_only_the_dollar_form_counts():
    rule = rules(tickers=["CUT"])
    assert reason(rule, "MARKETS CUT LOSSES AS BANKS RALLY") is None
    assert reason(rule, "MARKETS: $CUT JUMPS") == ("ticker", "CUT")
    assert reason(rule, "MARKETS CUT LOSSES", "Shares of CUT rose in late trade") == (
        "ticker",
        "CUT",
    )


def test_ticker_with_a_dot_and_a_dollar_sign_in_the_middle_of_a_word():
    rule = rules(tickers=["BRK.B"])
    assert reason(rule, "BRK.B hits a record") == ("ticker", "BRK.B")
    assert reason(rule, "BRKXB hits a record") is None
    assert reason(rules(tickers=["TSLA"]), "US$TSLA") == ("ticker", "TSLA")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Regulators fine lender over Bankruptcy filing", ("keyword", "bankruptcy")),
        ("The bankruptcy court approved", ("keyword", "bankruptcy")),
        ("Anti-bankruptcy rules", ("keyword", "bankruptcy")),
        ("bankruptcies rose", None),  # whole word only, no stemming
    ],
)
def test_keyword_is_a_whole_word(text, expected):  # noqa: ANN001
    assert reason(rules(keywords=["bankruptcy"]), text) == expected


def test_alias_wins_over_ticker_and_keyword_and_the_body_counts():
    rule = rules(aliases=["Ford"], tickers=["F"], keywords=["recall"])
    assert reason(rule, "F recall widens", "Ford said on Monday") == ("alias", "Ford")
    assert reason(rule, "F recall widens") == ("ticker", "F")
    assert reason(rule, "Carmaker expands recall") == ("keyword", "recall")
    assert reason(rule, "Carmaker expands plant") is None


def test_terms_are_cleaned_from_comma_separated_input():
    assert topic_terms_clean(" Ford ,Ford Motor, ford,, ", kind="aliases") == [
        "Ford",
        "Ford Motor",
    ]
    assert topic_terms_clean("$tsla, f , brk.b", kind="tickers") == ["TSLA", "F", "BRK.B"]
    assert topic_terms_clean("", kind="keywords") == []


@pytest.mark.parametrize(
    ("raw", "kind"),
    [("TS LA", "tickers"), ("$$$", "tickers"), ("--", "keywords"), ("x" * 201, "aliases")],
)
def test_bad_terms_are_a_validation_error(raw, kind):  # noqa: ANN001
    with pytest.raises(ValidationError):
        topic_terms_clean(raw, kind=kind)
