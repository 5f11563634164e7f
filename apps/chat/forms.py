"""Forms of the chat admin pages: entries, import, the preview box, the learning loop."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from apps.chat.models import KnowledgeEntry
from apps.chat.services.importing import FORMATS, IMPORT_MAX_BYTES, INTENT_RE


class TagsField(forms.CharField):
    """Tags typed as `card, delivery`; stored as a JSON list of strings."""

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(str(tag) for tag in value)
        return super().prepare_value(value)

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list):
            return value
        tags: list[str] = []
        for tag in (super().to_python(value) or "").split(","):
            tag = tag.strip()
            if tag and tag not in tags:
                tags.append(tag)
        return tags


def _lines(text: str) -> list[str]:
    seen: list[str] = []
    for line in (text or "").splitlines():
        line = " ".join(line.split())
        if line and line not in seen:
            seen.append(line)
    return seen


def _clean_intent(intent: str) -> str:
    intent = (intent or "").strip()
    if intent and not INTENT_RE.match(intent):
        raise forms.ValidationError("Use letters, digits, - and _ only (e.g. card_arrival).")
    return intent


class KnowledgeEntryForm(forms.ModelForm):
    """The entry change form; a blank intent becomes the slug of the title."""

    tags = TagsField(required=False, help_text="Comma-separated, e.g. card, delivery")

    class Meta:
        model = KnowledgeEntry
        fields = ["title", "intent", "answer", "tags", "language", "active"]
        widgets = {"answer": forms.Textarea(attrs={"rows": 6, "cols": 80})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["intent"].required = False
        self.fields["intent"].help_text = (
            "Label the intent classifier learns; left blank it becomes the slug of the title. "
            "Changing it orphans what the current model learned until the next fine-tune."
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("intent") and data.get("title") and not self.instance.pk:
            from apps.chat.services.knowledge import intent_slug_for

            data["intent"] = intent_slug_for(data["title"])
        elif not data.get("intent") and self.instance.pk:
            data["intent"] = self.instance.intent
        return data


class KbImportForm(forms.Form):
    file = forms.FileField(
        help_text="CSV (title,answer,phrasings,tags,language,active,intent) or JSON "
        '({"entries": [...]}), UTF-8'
    )
    file_format = forms.ChoiceField(
        label="Format",
        choices=[("", "from the file name"), *[(f, f.upper()) for f in FORMATS]],
        required=False,
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size} bytes; the limit is {IMPORT_MAX_BYTES}."
            )
        return upload


class AskTheBotForm(forms.Form):
    question = forms.CharField(
        max_length=settings.CHAT_MAX_MESSAGE_CHARS,
        widget=forms.TextInput(attrs={"size": 80, "autofocus": True}),
        help_text="Runs retrieval, the intent model and the decision exactly as a reply would; "
        "nothing is saved.",
    )


class QuestionIdsForm(forms.Form):
    """The unanswered questions an action applies to, as `ids=1,2,3`."""

    ids = forms.CharField(widget=forms.HiddenInput)

    def clean_ids(self) -> list[int]:
        try:
            ids = [int(part) for part in self.cleaned_data["ids"].split(",") if part.strip()]
        except ValueError as exc:
            raise forms.ValidationError("ids must be comma-separated numbers") from exc
        if not ids:
            raise forms.ValidationError("Select at least one question.")
        return ids


class UnansweredEntryForm(QuestionIdsForm):
    """A new entry from unanswered questions: they are its phrasings; the answer is typed in."""

    title = forms.CharField(max_length=300)
    intent = forms.CharField(
        max_length=100, required=False, help_text="Left blank: the slug of the title."
    )
    answer = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text="Plain text; http(s) links become clickable in the widget.",
    )
    phrasings = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
        required=False,
        help_text="One per line. The selected questions are always added.",
    )
    tags = TagsField(required=False, help_text="Comma-separated")
    language = forms.CharField(max_length=10, initial="en")
    active = forms.BooleanField(required=False, initial=True)

    def clean_intent(self) -> str:
        intent = _clean_intent(self.cleaned_data.get("intent", ""))
        if intent and KnowledgeEntry.objects.filter(intent=intent).exists():
            raise forms.ValidationError(
                f"An entry with intent {intent!r} exists; attach the questions to it instead."
            )
        return intent

    def clean_phrasings(self) -> list[str]:
        phrasings = _lines(self.cleaned_data.get("phrasings", ""))
        too_long = [p for p in phrasings if len(p) > 500]
        if too_long:
            raise forms.ValidationError(f"Phrasings are limited to 500 characters: {too_long[0]!r}")
        return phrasings


class UnansweredAttachForm(QuestionIdsForm):
    entry = forms.ModelChoiceField(
        queryset=KnowledgeEntry.objects.order_by("title"),
        help_text="The questions become phrasings of this entry (source: learned).",
    )
