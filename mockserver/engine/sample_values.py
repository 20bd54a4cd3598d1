"""Plausible values for generated JSON: from a string `format` (`email`, `date`, `uuid`, ...) or from a field's name
(`first_name`, `city`, `price`, `created_at`, ...), drawn from a caller's `random.Random`, so they are deterministic.
"""

from __future__ import annotations

import random
import re
import string

_FIRST_NAMES = ("Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara")
_LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov")
_CITIES = ("Paris", "Lisbon", "Tokyo", "Nairobi", "Toronto", "Sydney", "Berlin", "Lima")
_COUNTRIES = ("France", "Portugal", "Japan", "Kenya", "Canada", "Australia", "Germany", "Peru")
_COMPANIES = ("Acme Corp", "Globex", "Initech", "Umbrella Labs", "Hooli", "Stark Industries")
_COLORS = ("red", "green", "blue", "teal", "amber", "violet")
WORDS = ("alpha", "bright", "cedar", "delta", "ember", "fjord", "granite", "harbor", "island", "juniper")
_SENTENCES = (
    "A short, plausible description.",
    "Generated deterministically by mockserver.",
    "Everything looks in order.",
    "A concise summary of the main points.",
)


def name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [word for word in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if word]


def singular_of(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def format_value(fmt: str, rng: random.Random) -> str | None:
    if fmt == "email":
        return f"{rng.choice(_FIRST_NAMES).lower()}.{rng.choice(_LAST_NAMES).lower()}@example.com"
    if fmt == "date":
        return random_date(rng)
    if fmt == "date-time":
        return f"{random_date(rng)}T{rng.randint(8, 18):02d}:{rng.choice((0, 15, 30, 45)):02d}:00Z"
    if fmt == "time":
        return f"{rng.randint(8, 18):02d}:{rng.choice((0, 15, 30, 45)):02d}:00Z"
    if fmt == "duration":
        return f"PT{rng.randint(1, 12)}H"
    if fmt in ("uri", "url", "iri", "uri-reference"):
        return f"https://example.com/{rng.choice(WORDS)}"
    if fmt == "uuid":
        return random_uuid(rng)
    if fmt == "hostname":
        return f"{rng.choice(WORDS)}.example.com"
    if fmt == "ipv4":
        return f"192.0.2.{rng.randint(1, 254)}"
    if fmt == "ipv6":
        return f"2001:db8::{rng.randint(1, 0xFFFF):x}"
    return None


def random_date(rng: random.Random) -> str:
    return f"{rng.randint(2019, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def random_uuid(rng: random.Random) -> str:
    digits = f"{rng.getrandbits(128):032x}"
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-a{digits[17:20]}-{digits[20:]}"


def named_string(name: str, rng: random.Random) -> str:
    words = name_words(name)
    last = words[-1] if words else ""
    first = rng.choice(_FIRST_NAMES)
    family = rng.choice(_LAST_NAMES)
    if "email" in words or last == "mail":
        return f"{first.lower()}.{family.lower()}@example.com"
    if last in ("url", "uri", "link", "website", "homepage", "href"):
        return f"https://example.com/{rng.choice(WORDS)}"
    if last in ("id", "uuid", "guid") or name == "id":
        return random_uuid(rng) if last != "id" else f"{words[0] if len(words) > 1 else 'id'}_{rng.getrandbits(32):08x}"
    if last in ("date", "birthday", "dob", "day") or name.endswith("_on"):
        return random_date(rng)
    if last in ("timestamp", "time", "datetime") or name.endswith("_at"):
        return f"{random_date(rng)}T{rng.randint(8, 18):02d}:00:00Z"
    if words[:1] == ["first"] or last in ("firstname", "given"):
        return first
    if words[:1] in (["last"], ["family"], ["sur"]) or last in ("lastname", "surname"):
        return family
    if last in ("author", "person", "user", "username", "customer", "owner", "assignee") or name == "name":
        return f"{first} {family}" if last != "username" else f"{first.lower()}{rng.randint(1, 99)}"
    if last in ("city", "town", "location", "place", "destination", "origin"):
        return rng.choice(_CITIES)
    if last in ("country", "nation"):
        return rng.choice(_COUNTRIES)
    if last in ("company", "organization", "organisation", "employer", "vendor", "brand"):
        return rng.choice(_COMPANIES)
    if last in ("phone", "telephone", "mobile"):
        return f"+1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
    if last in ("address", "street"):
        return f"{rng.randint(1, 999)} {rng.choice(WORDS).title()} Street"
    if last in ("zip", "postcode", "postal", "zipcode"):
        return f"{rng.randint(10000, 99999)}"
    if last in ("currency",):
        return rng.choice(("USD", "EUR", "JPY", "GBP"))
    if last in ("language", "lang", "locale"):
        return rng.choice(("English", "French", "Japanese", "Portuguese"))
    if last in ("color", "colour"):
        return rng.choice(_COLORS)
    if last in ("description", "summary", "text", "content", "body", "message", "comment", "notes", "note", "reason"):
        return rng.choice(_SENTENCES)
    if last in ("title", "headline", "subject"):
        return f"The {rng.choice(WORDS).title()} {rng.choice(WORDS).title()}"
    if last == "name":
        return f"{first} {family}" if len(words) == 1 else f"{rng.choice(WORDS).title()} {words[0].title()}"
    if last in ("code", "sku", "number", "ref", "reference"):
        return f"{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}-{rng.randint(1000, 9999)}"
    if last in ("status", "state"):
        return rng.choice(("active", "pending", "done"))
    if last in ("tag", "keyword", "label", "category", "word"):
        return rng.choice(WORDS)
    if last in ("query", "q", "search", "question", "prompt"):
        return f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
    return rng.choice(WORDS)


def named_number(name: str, rng: random.Random, integer: bool) -> float:
    words = name_words(name)
    last = words[-1] if words else ""
    if last == "age":
        return rng.randint(18, 80)
    if last in ("year",):
        return rng.randint(1990, 2026)
    if last in ("month",):
        return rng.randint(1, 12)
    if last in ("day",):
        return rng.randint(1, 28)
    if last in ("count", "quantity", "qty", "number", "num", "total", "size", "amount", "items") and integer:
        return rng.randint(1, 12)
    if last in ("price", "cost", "amount", "total", "balance", "salary", "subtotal", "fee"):
        return rng.randint(100, 99_999) / 100 if not integer else rng.randint(1, 500)
    if last in ("score", "confidence", "probability", "ratio", "rate", "weight"):
        return rng.randint(0, 100) / 100 if not integer else rng.randint(0, 10)
    if last in ("latitude", "lat"):
        return rng.randint(-8000, 8000) / 100
    if last in ("longitude", "lon", "lng"):
        return rng.randint(-17_000, 17_000) / 100
    if last in ("rating", "stars"):
        return rng.randint(1, 5)
    if last in ("temperature", "temp", "celsius"):
        return rng.randint(-5, 32)
    if last in ("percent", "percentage"):
        return rng.randint(0, 100)
    if last in ("id", "index", "rank", "position", "page"):
        return rng.randint(1, 999)
    return rng.randint(1, 100) if integer else rng.randint(100, 10_000) / 100
