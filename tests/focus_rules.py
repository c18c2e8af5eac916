"""The column rules of FinOps FOCUS 1.3 (Cost and Usage dataset), as a checker for exported rows.

Written from the specification's text (FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec,
`specification/datasets/cost_and_usage/columns/*.md` and the attributes they cite), not from the
exporter, so a test can hold the export to it. For every column the export writes and every
column FOCUS 1.3 makes mandatory it checks presence, nullability (including the conditional
rules that depend on ChargeCategory, ChargeClass and SkuPriceId), the data type as written in
text (NumericFormat, DateTimeFormat, CurrencyCodeFormat), and allowed values. Cross-column
rules checked: ListCost = ListUnitPrice x PricingQuantity and ContractedCost =
ContractedUnitPrice x PricingQuantity (to the export's stated precision), every SkuPriceId has
one parent SkuId, the
ServiceSubcategory belongs to its ServiceCategory, units are given with quantities, and custom
columns carry the `x_` prefix and come after the FOCUS columns.

A value is null when the cell is empty (CSV) or None (rows read back as Python values).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

FOCUS_VERSION = "1.3"

# -- value formats (attributes: NumericFormat, DateTimeFormat, CurrencyCodeFormat, ColumnNaming)

NUMERIC = re.compile(r"^-?(\d+(\.\d+)?|\.\d+)([eE][-+]?\d+)?$")
"""NumericFormat: an integer, a decimal or scientific notation; no symbols, units or separators."""
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
"""DateTimeFormat: ISO 8601 in UTC, `YYYY-MM-DDTHH:mm:ssZ`."""
CURRENCY = re.compile(r"^[A-Z]{3}$")
"""CurrencyCodeFormat: a national currency as its ISO 4217 alphabetic code."""
COLUMN_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
"""ColumnNaming: FOCUS columns are PascalCase, alphanumeric."""

CHARGE_CATEGORIES = {"Usage", "Purchase", "Tax", "Credit", "Adjustment"}
CHARGE_CLASSES = {"Correction"}
CHARGE_FREQUENCIES = {"One-Time", "Recurring", "Usage-Based"}
PRICING_CATEGORIES = {"Standard", "Dynamic", "Committed", "Other"}
SERVICE_CATEGORIES = {
    "AI and Machine Learning",
    "Analytics",
    "Business Applications",
    "Compute",
    "Databases",
    "Developer Tools",
    "Multicloud",
    "Identity",
    "Integration",
    "Internet of Things",
    "Management and Governance",
    "Media",
    "Migration",
    "Mobile",
    "Networking",
    "Security",
    "Storage",
    "Web",
    "Other",
}
SERVICE_SUBCATEGORIES = {
    # The subcategories of the categories a voice-agent export can use, each with its parent.
    "AI Platforms": "AI and Machine Learning",
    "Bots": "AI and Machine Learning",
    "Generative AI": "AI and Machine Learning",
    "Machine Learning": "AI and Machine Learning",
    "Natural Language Processing": "AI and Machine Learning",
    "Other (AI and Machine Learning)": "AI and Machine Learning",
    "Network Connectivity": "Networking",
    "Other (Networking)": "Networking",
    "Productivity and Collaboration": "Business Applications",
    "Other (Business Applications)": "Business Applications",
    "Other (Other)": "Other",
}
TIME_UNITS = {"Seconds", "Minutes", "Hours", "Days"}
"""UnitFormat: time units in their plural form."""


@dataclass(frozen=True)
class Column:
    """One column's content constraints, as the specification's table gives them."""

    name: str
    level: str  # Mandatory, Conditional or Recommended
    kind: str  # Decimal, DateTime, String, Currency
    nulls: bool  # whether the column allows nulls at all
    allowed: frozenset[str] | None = None


COLUMNS: dict[str, Column] = {
    c.name: c
    for c in [
        Column("BilledCost", "Mandatory", "Decimal", False),
        Column("BillingAccountId", "Mandatory", "String", False),
        Column("BillingAccountName", "Mandatory", "String", True),
        Column("BillingCurrency", "Mandatory", "Currency", False),
        Column("BillingPeriodEnd", "Mandatory", "DateTime", False),
        Column("BillingPeriodStart", "Mandatory", "DateTime", False),
        Column("ChargeCategory", "Mandatory", "String", False, frozenset(CHARGE_CATEGORIES)),
        Column("ChargeClass", "Mandatory", "String", True, frozenset(CHARGE_CLASSES)),
        Column("ChargeDescription", "Mandatory", "String", True),
        Column("ChargeFrequency", "Recommended", "String", False, frozenset(CHARGE_FREQUENCIES)),
        Column("ChargePeriodEnd", "Mandatory", "DateTime", False),
        Column("ChargePeriodStart", "Mandatory", "DateTime", False),
        Column("ConsumedQuantity", "Conditional", "Decimal", True),
        Column("ConsumedUnit", "Conditional", "String", True),
        Column("ContractedCost", "Mandatory", "Decimal", False),
        Column("ContractedUnitPrice", "Conditional", "Decimal", True),
        Column("EffectiveCost", "Mandatory", "Decimal", False),
        Column("HostProviderName", "Mandatory", "String", False),
        Column("InvoiceIssuerName", "Mandatory", "String", False),
        Column("ListCost", "Mandatory", "Decimal", False),
        Column("ListUnitPrice", "Conditional", "Decimal", True),
        Column("PricingCategory", "Conditional", "String", True, frozenset(PRICING_CATEGORIES)),
        Column("PricingQuantity", "Mandatory", "Decimal", True),
        Column("PricingUnit", "Mandatory", "String", True),
        # Deprecated in 1.3 (replaced by ServiceProviderName), still mandatory and not null.
        Column("ProviderName", "Mandatory", "String", False),
        Column("PublisherName", "Mandatory", "String", False),
        Column("ResourceId", "Conditional", "String", True),
        Column("ResourceType", "Conditional", "String", True),
        Column("ServiceCategory", "Mandatory", "String", False, frozenset(SERVICE_CATEGORIES)),
        Column("ServiceName", "Mandatory", "String", False),
        Column("ServiceProviderName", "Mandatory", "String", False),
        Column(
            "ServiceSubcategory",
            "Recommended",
            "String",
            False,
            frozenset(SERVICE_SUBCATEGORIES),
        ),
        Column("SkuId", "Conditional", "String", True),
        Column("SkuMeter", "Conditional", "String", True),
        Column("SkuPriceId", "Conditional", "String", True),
        Column("SubAccountId", "Conditional", "String", True),
        Column("SubAccountName", "Conditional", "String", True),
    ]
}
MANDATORY = sorted(name for name, c in COLUMNS.items() if c.level == "Mandatory")

PRECISION = Decimal("0.000001")
"""The export's stated precision: cost metrics equal price x quantity to this."""


def _null(value: Any) -> bool:
    return value is None or value == ""


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _format_problem(column: Column, value: Any) -> str | None:
    """Why ``value`` is not of the column's type as FOCUS writes it, or None."""
    if column.kind == "Decimal":
        if isinstance(value, bool) or not NUMERIC.match(
            format(value, "f") if isinstance(value, Decimal) else str(value)
        ):
            return f"{value!r} is not a NumericFormat decimal"
        try:
            if not _decimal(value).is_finite():
                return f"{value!r} is not a finite decimal"
        except InvalidOperation:
            return f"{value!r} is not a decimal"
    elif column.kind == "DateTime":
        text = value if isinstance(value, str) else None
        if text is None or not DATETIME.match(text):
            return f"{value!r} is not YYYY-MM-DDTHH:mm:ssZ"
    elif column.kind == "Currency":
        if not isinstance(value, str) or not CURRENCY.match(value):
            return f"{value!r} is not an ISO 4217 currency code"
    elif not isinstance(value, str) or not value.strip():
        return f"{value!r} is not a non-empty string"
    if column.allowed is not None and value not in column.allowed:
        return f"{value!r} is not one of the allowed values"
    return None


def check_header(columns: Sequence[str]) -> list[str]:
    """Problems with the column set and order: mandatory columns, names, `x_` columns last."""
    problems = [f"mandatory column {name} is missing" for name in MANDATORY if name not in columns]
    seen_custom = False
    for name in columns:
        if name.startswith("x_"):
            seen_custom = True
            continue
        if name not in COLUMNS:
            problems.append(f"column {name} is neither a FOCUS {FOCUS_VERSION} column nor x_")
        if not COLUMN_NAME.match(name):
            problems.append(f"column {name} is not PascalCase alphanumeric")
        if seen_custom:
            problems.append(f"FOCUS column {name} comes after custom x_ columns")
    if len(set(columns)) != len(columns):
        problems.append("a column appears twice")
    return problems


def check_row(row: Mapping[str, Any]) -> list[str]:
    """Problems with one row: types, nulls, allowed values and the cross-column rules."""
    problems: list[str] = []

    def null(name: str) -> bool:
        return _null(row.get(name))

    for name, value in row.items():
        column = COLUMNS.get(name)
        if column is None:
            continue
        if _null(value):
            if not column.nulls:
                problems.append(f"{name} is null")
            continue
        if problem := _format_problem(column, value):
            problems.append(f"{name}: {problem}")
    if problems:
        return problems  # the rules below read typed values

    category = row.get("ChargeCategory")
    correction = row.get("ChargeClass") == "Correction"
    usage_or_purchase = category in ("Usage", "Purchase") and not correction
    # SkuPriceId and its dependants.
    if category == "Tax":
        for name in ("SkuPriceId", "SkuId", "ListUnitPrice", "ContractedUnitPrice"):
            if name in row and not null(name):
                problems.append(f"{name} must be null on a Tax row")
    if usage_or_purchase:
        for name in (
            "SkuId",
            "SkuPriceId",
            "ListUnitPrice",
            "ContractedUnitPrice",
            "PricingQuantity",
            "PricingCategory",
        ):
            if null(name):
                problems.append(f"{name} is null on a {category} row that is not a correction")
    for name in ("ListUnitPrice", "ContractedUnitPrice", "PricingQuantity", "ConsumedQuantity"):
        if name in row and null("SkuPriceId") and not null(name):
            problems.append(f"{name} must be null when SkuPriceId is null")
    if not null("SkuPriceId"):
        for name in ("ListUnitPrice", "ContractedUnitPrice"):
            if null(name):
                problems.append(f"{name} must not be null when SkuPriceId is not null")
        if null("SkuId"):
            problems.append("SkuPriceId needs its parent SkuId")
    # Quantities and their units.
    if category != "Usage":
        for name in ("ConsumedQuantity", "ConsumedUnit"):
            if not null(name):
                problems.append(f"{name} must be null on a {category} row")
    elif not correction and "ConsumedQuantity" in row and null("ConsumedQuantity"):
        problems.append("ConsumedQuantity is null on a Usage row")
    for quantity, unit in (
        ("ConsumedQuantity", "ConsumedUnit"),
        ("PricingQuantity", "PricingUnit"),
    ):
        if not null(quantity) and null(unit):
            problems.append(f"{unit} is null while {quantity} is set")
        if null(quantity) and not null(unit):
            problems.append(f"{unit} is set while {quantity} is null")
    # Cost metrics and unit prices.
    for price, cost in (("ListUnitPrice", "ListCost"), ("ContractedUnitPrice", "ContractedCost")):
        if not null(price):
            if _decimal(row[price]) < 0:
                problems.append(f"{price} is negative")
            if not null("PricingQuantity"):
                product = _decimal(row[price]) * _decimal(row["PricingQuantity"])
                if abs(product - _decimal(row[cost])) > PRECISION / 2:
                    problems.append(
                        f"{cost} {row[cost]} is not {price} x PricingQuantity ({product})"
                    )
    if not null("ResourceId") and "ResourceType" in row and null("ResourceType"):
        problems.append("ResourceType is null while ResourceId is set")
    if not null("ServiceSubcategory"):
        parent = SERVICE_SUBCATEGORIES[row["ServiceSubcategory"]]
        if parent != row.get("ServiceCategory"):
            problems.append(
                f"ServiceSubcategory {row['ServiceSubcategory']!r} belongs to {parent!r}, "
                f"not {row.get('ServiceCategory')!r}"
            )
    if row.get("ChargeFrequency") == "Usage-Based" and category == "Purchase":
        problems.append("ChargeFrequency is Usage-Based on a Purchase row")
    for unit in ("ConsumedUnit", "PricingUnit"):
        value = row.get(unit)
        if not _null(value) and not (value in TIME_UNITS or re.match(r"^[A-Z][a-z]+s$", value)):
            problems.append(f"{unit} {value!r} is not a UnitFormat unit")
    if row.get("ChargePeriodStart", "") >= row.get("ChargePeriodEnd", "~"):
        problems.append("ChargePeriodEnd is not after ChargePeriodStart")
    if row.get("BillingPeriodStart", "") >= row.get("BillingPeriodEnd", "~"):
        problems.append("BillingPeriodEnd is not after BillingPeriodStart")
    return problems


def check_rows(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every problem of a dataset: its header, each row, and what must hold across rows."""
    problems = check_header(columns)
    parents: dict[str, set[str]] = {}
    for number, row in enumerate(rows, start=1):
        if set(row) != set(columns):
            problems.append(f"row {number}: its columns differ from the header")
        problems.extend(f"row {number}: {p}" for p in check_row(row))
        if not _null(row.get("SkuPriceId")):
            parents.setdefault(row["SkuPriceId"], set()).add(row.get("SkuId") or "")
    problems.extend(
        f"SkuPriceId {price} has more than one parent SkuId: {sorted(skus)}"
        for price, skus in parents.items()
        if len(skus) > 1
    )
    return problems
