"""Safety: red-flag triage from the reviewed sign table, the semantic second line, and the safety box."""

from .signs import LEVELS, SignTable, SignTableError, load_sign_table, parse_sign_table
from .triage import KINDS, Triage, TriageResult, normalise, parse_age, parse_temperatures

__all__ = ["KINDS", "LEVELS", "SignTable", "SignTableError", "Triage", "TriageResult", "load_sign_table",
           "normalise", "parse_age", "parse_temperatures", "parse_sign_table"]
