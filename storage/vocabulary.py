"""The words the record is kept in: statuses, roles, kinds, platforms, categories and cities, defined once.

StrEnums, so a value compares equal to the string stored in its column and reads as that string.
"""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """The service categories of 志願服務法, as the record book and the platforms name them."""

    SOCIAL_WELFARE = "social-welfare"
    HEALTH = "health"
    EDUCATION = "education"
    CULTURE = "culture"
    ENVIRONMENT = "environment"
    POLICE = "police"
    FIRE = "fire"
    TRAFFIC = "traffic"
    GENERAL = "general"


class City(StrEnum):
    TAIPEI = "taipei"
    TAICHUNG = "taichung"
    OTHER = "other"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class Role(StrEnum):
    """A person's place in a unit."""

    VOLUNTEER = "volunteer"
    COORDINATOR = "coordinator"


class RecordKind(StrEnum):
    """What a service record counts: service hours, or hours of training or meetings kept beside them."""

    SERVICE = "service"
    TRAINING = "training"
    MEETING = "meeting"


class RecordStatus(StrEnum):
    """A service record's state; only `counted` records add hours."""

    OPEN = "open"  # checked in, not yet out
    COUNTED = "counted"
    REVIEW = "review"  # waits for a coordinator
    VOID = "void"
    AWAITING_LOCATION = "location"  # an event's code was sent, the location not yet (counts nothing)


class RecordSource(StrEnum):
    """Who recorded it: the bot at a check-out, a person by hand, or a record-book balance brought in (hours
    served before the bot: they count toward totals and awards, but are no period's service in a report)."""

    CHAT = "chat"
    MANUAL = "manual"
    BALANCE = "balance"


class Platform(StrEnum):
    LINE = "line"
    TELEGRAM = "telegram"
    TERMINAL = "terminal"


# Plain strings for argparse choices and error messages (an enum member's repr is not what a person reads).
CATEGORIES = tuple(c.value for c in Category)
CITIES = tuple(c.value for c in City)
GENDERS = tuple(g.value for g in Gender)
ROLES = tuple(r.value for r in Role)
KINDS = tuple(k.value for k in RecordKind)
