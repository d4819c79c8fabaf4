"""Personal data: masking numbers before storage (`Redactor`)."""

from ivr.privacy.redact import SECRET_MASK, Redactor, id_card_valid, luhn_valid

__all__ = ["SECRET_MASK", "Redactor", "id_card_valid", "luhn_valid"]
