"""The attribute mapping of a provider: which claims make a person an eligible member,
which claims give which segment values (portal/segments.py), and which groups, if an
admin says so, give a leadership or admin role.

Stored as JSON on the provider::

    {"eligibility": {"claim": "membership_status", "values": ["active", "grace"]},
     "segments": {"membership_type": {"claim": "member_type",
                                      "values": {"Regular": "regular", "Student": "student"}},
                  "career_stage": {"claim": "career_stage"}},
     "roles": {"claim": "groups", "values": {"board": "leader"}}}

A segment without "values" takes the claim's value as the portal's code. Claim values
are compared without regard to case or surrounding spaces. A dotted claim name reads
inside an object claim: Salesforce sends a Connected App's custom attributes as
``custom_attributes``, so ``"custom_attributes.Membership_Status"``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from portal import segments
from portal.errors import PortalError
from portal.models import Role

GRANTABLE_ROLES = (Role.LEADER.value, Role.ADMIN.value)
_RANK = {Role.MEMBER.value: 0, Role.LEADER.value: 1, Role.ADMIN.value: 2}


class MappingError(PortalError):
    def __init__(self, message: str) -> None:
        super().__init__(message, field="attribute_mapping")


@dataclass
class Outcome:
    """What a provider's claims mean for the portal."""

    eligible: bool
    segments: dict[str, str] = field(default_factory=dict)  # only values from the records
    role: str | None = None  # a role granted by an explicit group mapping

    def as_json(self) -> str:
        return json.dumps({"eligible": self.eligible, "segments": self.segments,
                           "role": self.role}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Outcome:
        data = json.loads(text or "{}")
        return cls(eligible=bool(data.get("eligible")), segments=dict(data.get("segments") or {}),
                   role=data.get("role"))


def rank(role: str | None) -> int:
    return _RANK.get(role or "", 0)


def _norm(value: Any) -> str:
    return str(value).strip().casefold()


def _claim(where: str, spec: Any, supported: set[str] | None) -> str:
    if not isinstance(spec, dict) or not isinstance(spec.get("claim"), str) \
            or not spec["claim"].strip():
        raise MappingError(f'{where} needs a "claim": the name of the provider\'s attribute.')
    name = spec["claim"].strip()
    if supported is not None and name.split(".")[0] not in supported:
        raise MappingError(f'{where} uses the attribute "{name}", which the provider does not '
                           f"offer (it offers: {', '.join(sorted(supported)) or 'none'}).")
    unknown = set(spec) - {"claim", "values"}
    if unknown:
        raise MappingError(f"{where} has unknown keys: {', '.join(sorted(unknown))}.")
    return name


def parse(text: str, supported_claims: list[str] | None = None) -> dict:
    """Check a mapping and return it normalised. `supported_claims` is the provider's
    list of claims (from its discovery document), when it publishes one."""
    supported = set(supported_claims) if supported_claims else None
    try:
        data = json.loads(text)
    except (ValueError, TypeError) as err:
        raise MappingError(f"The attribute mapping is not valid JSON: {err}.")
    if not isinstance(data, dict):
        raise MappingError("The attribute mapping must be a JSON object.")
    unknown = set(data) - {"eligibility", "segments", "roles"}
    if unknown:
        raise MappingError(f"Unknown parts in the attribute mapping: {', '.join(sorted(unknown))} "
                           '(use "eligibility", "segments" and "roles").')
    out: dict[str, Any] = {}

    elig = data.get("eligibility")
    if elig is None:
        raise MappingError('The attribute mapping needs "eligibility": the attribute and values '
                           "that make someone an eligible member.")
    name = _claim("Eligibility", elig, supported)
    values = elig.get("values")
    if not isinstance(values, list) or not values or \
            not all(isinstance(v, str | int | bool) and str(v).strip() for v in values):
        raise MappingError('Eligibility needs "values": a list of the attribute\'s values that '
                           "count as eligible.")
    out["eligibility"] = {"claim": name, "values": [str(v).strip() for v in values]}

    segs = data.get("segments", {})
    if not isinstance(segs, dict):
        raise MappingError('"segments" must be an object keyed by segment.')
    out["segments"] = {}
    for key, spec in segs.items():
        dim = segments.get(key)
        if dim is None:
            raise MappingError(f'"{key}" is not a segment of the portal (segments: '
                               f"{', '.join(segments.KEYS)}).")
        claim = _claim(f"The segment {key}", spec, supported)
        entry: dict[str, Any] = {"claim": claim}
        if "values" in spec:
            table = spec["values"]
            if not isinstance(table, dict) or not table:
                raise MappingError(f'The "values" of segment {key} must map the provider\'s '
                                   "values to the portal's codes.")
            for source, code in table.items():
                if code not in dim.codes:
                    raise MappingError(f'The segment {key} maps "{source}" to "{code}", which is '
                                       f"not one of its codes ({', '.join(dim.codes)}).")
            entry["values"] = {str(k).strip(): v for k, v in table.items()}
        out["segments"][key] = entry

    roles = data.get("roles")
    if roles is not None:
        claim = _claim("Roles", roles, supported)
        table = roles.get("values")
        if not isinstance(table, dict) or not table:
            raise MappingError('Roles need "values": groups mapped to "leader" or "admin".')
        for group, role in table.items():
            if role not in GRANTABLE_ROLES:
                raise MappingError(f'The group "{group}" maps to "{role}"; a provider can only '
                                   'grant "leader" or "admin".')
        out["roles"] = {"claim": claim, "values": {str(k).strip(): v for k, v in table.items()}}
    return out


def claims_used(mapping: dict) -> set[str]:
    names = {mapping["eligibility"]["claim"]}
    names |= {spec["claim"] for spec in mapping.get("segments", {}).values()}
    if mapping.get("roles"):
        names.add(mapping["roles"]["claim"])
    return names


def claim_value(claims: dict[str, Any], name: str) -> Any:
    """The claim `name`; a dotted name reads inside object claims."""
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value if isinstance(v, str | int | bool)]
    if isinstance(value, str | int | bool):
        return [_norm(value)]
    return []


def apply(mapping: dict, claims: dict[str, Any]) -> Outcome:
    """What `claims` mean under `mapping` (a parsed mapping)."""
    elig = mapping["eligibility"]
    allowed = {_norm(v) for v in elig["values"]}
    eligible = bool(allowed.intersection(_as_list(claim_value(claims, elig["claim"]))))
    found: dict[str, str] = {}
    for key, spec in mapping.get("segments", {}).items():
        raw = claim_value(claims, spec["claim"])
        if isinstance(raw, list | dict) or raw is None or not str(raw).strip():
            continue
        dim = segments.BY_KEY[key]
        if "values" in spec:
            table = {_norm(k): v for k, v in spec["values"].items()}
            code = table.get(_norm(raw))
        else:
            code = next((c for c in dim.codes if c == _norm(raw)), None)
        if code is not None:
            found[key] = code
    role = None
    if mapping.get("roles"):
        table = {_norm(k): v for k, v in mapping["roles"]["values"].items()}
        for group in _as_list(claim_value(claims, mapping["roles"]["claim"])):
            candidate = table.get(group)
            if candidate and rank(candidate) > rank(role):
                role = candidate
    return Outcome(eligible=eligible, segments=found, role=role)
