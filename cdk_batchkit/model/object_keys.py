"""S3 object keys in EventBridge rules: match them whichever way S3 writes them (no CDK import).

What is known (see docs/rules.md, "Object keys: known and unknown"):

* S3's classic event notifications document the key as URL-encoded the way an HTML form is,
  ``application/x-www-form-urlencoded``: "red flower.jpg" becomes "red+flower.jpg"
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
  Keys reported from real notifications percent-encode ``=`` and ``:`` (``%3D``, ``%3A``: aws/aws-sam-cli#379,
  aws/aws-sdk-js#837) and keep ``/`` (minio/minio#11665, 2021, comparing with AWS; the 2015 report in
  aws/aws-sdk-js#837 showed ``%2F``, a form not matched here: it would break every prefix with a slash).
* For the "Object Created" events S3 sends to EventBridge
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html) nothing is documented either way,
  and a real event published in a public gist shows raw colons.
* An EventBridge pattern compares whatever string the event carries, and ORs the entries of a list
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).

So every filter is rendered in each form a key may take, and one event uses one form throughout (a prefix
and a suffix are paired form by form, never mixed). The encoded form is ``urllib.parse.quote_plus``
with ``/`` kept: form encoding (space as ``+``, UTF-8 bytes as ``%XX`` in upper case) as the S3 document
says, with the slashes real notifications show. Form encoders disagree only on ``*`` and ``~`` (Python's
keeps ``~`` and encodes ``*``; Java's ``URLEncoder``, the classic x-www-form-urlencoded encoder, keeps
``*`` and encodes ``~``); S3 documents neither, so a filter containing one of them gets both variants.
"""

from __future__ import annotations

from urllib.parse import quote_plus

#: S3 keys are at most 1,024 bytes of UTF-8 (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html).
MAX_KEY_BYTES = 1024


def _python_form(text: str) -> str:
    return quote_plus(text, safe="/")


def _java_form(text: str) -> str:
    return quote_plus(text, safe="/*").replace("~", "%7E")


def key_forms(text: str) -> list[str]:
    """``text`` as it may appear in an event's ``detail.object.key``: raw first, then URL-encoded.

    One entry when encoding changes nothing (``incoming/``), two or three otherwise
    (``raw data/`` -> ``["raw data/", "raw+data/"]``).
    """
    forms: list[str] = []
    for form in (text, _python_form(text), _java_form(text)):
        if form not in forms:
            forms.append(form)
    return forms


def _pairs(prefix: str, suffix: str) -> list[tuple[str, str]]:
    """(prefix, suffix) in the same form: raw with raw, encoded with encoded."""
    pairs: list[tuple[str, str]] = []
    for encode in (str, _python_form, _java_form):
        pair = (encode(prefix), encode(suffix))
        if pair not in pairs:
            pairs.append(pair)
    return pairs


def _escape_wildcard(text: str) -> str:
    # In a wildcard pattern only * and \ are special; both are escaped with \
    # (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-wildcard-matching).
    return text.replace("\\", "\\\\").replace("*", "\\*")


def key_filter(prefix: str | None, suffix: str | None) -> list[dict[str, str]] | None:
    """The EventBridge matchers for ``detail.object.key`` (None: any key); the list is ORed.

    Prefix and suffix together become one ``wildcard`` per form (``prefix*suffix``): a separate prefix
    and suffix matcher in one list would accept either. A wildcard needs the key to be at least as long
    as prefix + suffix.
    """
    if prefix and suffix:
        return [
            {"wildcard": f"{_escape_wildcard(p)}*{_escape_wildcard(s)}"} for p, s in _pairs(prefix, suffix)
        ]
    if prefix:
        return [{"prefix": form} for form in key_forms(prefix)]
    if suffix:
        return [{"suffix": form} for form in key_forms(suffix)]
    return None


def exclude_prefix(prefix: str) -> list[dict[str, object]]:
    """A matcher list for ``detail.object.key`` that accepts every key except those under ``prefix``.

    One ``anything-but`` entry with every form of the prefix: ``{"anything-but": {"prefix": [...]}}``
    excludes a key starting with any of them (a list of prefixes is the syntax of aws/event-ruler, the
    matching library EventBridge uses; a single form renders as the plain string of the EventBridge guide).
    It must stay the key's only matcher: entries of the key's list are ORed, so adding any other matcher
    next to it would let excluded keys through.
    """
    forms = key_forms(prefix)
    value: str | list[str] = forms[0] if len(forms) == 1 else forms
    return [{"anything-but": {"prefix": value}}]


def may_start_with(key_prefix: str, prefix: str) -> bool:
    """Whether keys under ``key_prefix`` can match a ``prefix`` filter in any form the event may use.

    The filter is rendered in every form of ``prefix`` and the event carries one form of the key, so any
    form of the key prefix against any form of the filter counts (``a b/`` encoded is ``a+b/``, which the
    raw filter ``a+`` matches).
    """
    return any(k.startswith(p) for k in key_forms(key_prefix) for p in key_forms(prefix))


def may_end_with(key_suffix: str, suffix: str) -> bool:
    """Whether keys ending with ``key_suffix`` can match a ``suffix`` filter in any form."""
    return any(k.endswith(s) for k in key_forms(key_suffix) for s in key_forms(suffix))


def key_filter_problem(prop: str, value: str) -> str | None:
    """What is wrong with a ``prefix``/``suffix``/``manifest_prefix`` value (None when it is fine)."""
    if not value or len(value.encode("utf-8")) > MAX_KEY_BYTES:
        return f"must be 1 to {MAX_KEY_BYTES} bytes (leave it unset for any key)"
    if prop != "suffix" and value.startswith("/"):
        return (
            "must not start with '/': S3 keys in events have no leading slash (s3://bucket/incoming/a.csv "
            f"has the key incoming/a.csv), so this would match nothing; use {value.lstrip('/')!r}"
        )
    return None
