"""The `chat.intent` training task: labelled questions from the knowledge base and history."""

from __future__ import annotations

from ml.training import Example


def intent_dataset() -> list[Example]:
    """Every phrasing of every active entry, plus customer questions whose answer got a thumbs-up.

    Unanswered questions an admin attached to an entry became phrasings, so they are in too.
    Out-of-scope examples (admin, demo, or unanswered questions marked so) are examples of
    OUT_OF_SCOPE_INTENT; a text that is also a phrasing or a liked question keeps its entry.
    """
    from apps.chat.answering import OUT_OF_SCOPE_INTENT
    from apps.chat.models import EntryPhrasing, Message, OutOfScopeExample

    examples = [
        Example(text=text, label=intent)
        for text, intent in EntryPhrasing.objects.filter(entry__active=True)
        .order_by("id")
        .values_list("text", "entry__intent")
    ]
    seen = {e.text for e in examples}
    liked = (
        Message.objects.filter(
            sender=Message.Sender.BOT,
            kind=Message.Kind.ANSWER,
            feedback=1,
            entry__active=True,
            reply_to__isnull=False,
        )
        .order_by("id")
        .values_list("reply_to__text", "entry__intent")
    )
    for text, intent in liked:
        if text not in seen:
            seen.add(text)
            examples.append(Example(text=text, label=intent))
    for text in OutOfScopeExample.objects.order_by("id").values_list("text", flat=True):
        if text not in seen:
            seen.add(text)
            examples.append(Example(text=text, label=OUT_OF_SCOPE_INTENT))
    return examples
