"""Phone numbers: everything stored and compared is E.164, normalised with phonenumbers."""
from __future__ import annotations

import re

import phonenumbers

DEFAULT_REGION = "BD"
_BD_MOBILE = re.compile(r"\+8801[3-9][0-9]{8}")
"""A Bangladeshi mobile number already in E.164 (what Twilio sends): phonenumbers finds every
one valid and gives it back unchanged (tests/test_phones.py checks), so e164() returns it
without parsing (a webhook's sender, for a fifth of the webhook's own work)."""


class InvalidPhone(ValueError):
    pass


def e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """'01711-000001', '8801711000001', '+880 17 11 000001' -> '+8801711000001'."""
    text = (raw or "").strip().removeprefix("whatsapp:").strip()
    if _BD_MOBILE.fullmatch(text):
        return text
    digits = "".join(ch for ch in text if ch.isdigit())
    if text and not text.startswith("+") and digits.startswith("880"):
        text = "+" + digits  # 8801711... written without its plus
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as e:
        raise InvalidPhone(f"not a phone number: {raw!r}") from e
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"not a valid phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


TEXTABLE = (phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)  # numbers that take an SMS


def is_mobile(number: str) -> bool:
    """True for an E.164 number that can take an SMS or WhatsApp (a mobile); a landline or an
    IP phone is a valid number but every message to it is paid for and lost."""
    try:
        return phonenumbers.number_type(phonenumbers.parse(number)) in TEXTABLE
    except phonenumbers.NumberParseException:
        return False


_E164 = re.compile(r"\+[1-9]\d{6,14}")


def is_e164(address: str | None) -> bool:
    """True for an address a message can be sent to: '+' and 7 to 15 digits (ITU-T E.164).
    A WhatsApp address is the same number; the adapter adds the prefix."""
    return bool(address) and _E164.fullmatch(address) is not None
