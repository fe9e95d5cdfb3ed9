"""The synthetic economy: core enterprises, their supplier trees, carriers and banks.

Every company gets a USCC whose organisation code carries a valid GB 11714 check
character and whose last character is the GB 32100-2015 check character computed by
``stdnum.cn.uscc.calc_check_digit``.  A few *shell* tier-1 suppliers (used only by the
fake-trade planters) get a wrong last character on purpose.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from stdnum.cn import uscc as stdnum_uscc

from simulator.catalog import (
    BRAND_FIRST,
    BRAND_SECOND,
    CARRIERS,
    CORES,
    NAME_WORDS,
    PRODUCTS,
    REGIONS,
    Product,
    Region,
    partner_banks,
)

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_REGION_BY_DISTRICT = {r.district_code: r for r in REGIONS}
MAX_TIER = 5


def org_code_check(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation code."""
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    c9 = 11 - total % 11
    return "X" if c9 == 10 else "0" if c9 == 11 else str(c9)


def make_uscc(district_code: str, serial: int, *, valid: bool = True, kind: str = "91") -> str:
    """A USCC for the ``serial``-th company: ``kind`` + district + org code + check.

    ``serial`` is scrambled bijectively into six base-31 characters, so distinct
    serials give distinct codes.
    """
    n = (serial * 7919 + 104_729) % 31**6
    chars = []
    for _ in range(6):
        n, r = divmod(n, 31)
        chars.append(USCC_ALPHABET[r])
    body8 = "MA" + "".join(reversed(chars))
    first17 = f"{kind}{district_code}{body8}{org_code_check(body8)}"
    check = stdnum_uscc.calc_check_digit(first17)
    if not valid:  # shift to another character of the alphabet: wrong check on purpose
        check = USCC_ALPHABET[(USCC_ALPHABET.index(check) + 7) % 31]
    return first17 + check


@dataclass(eq=False, slots=True)
class Company:
    """A core enterprise (tier 0) or a supplier (tiers 1..5)."""

    idx: int
    uscc: str
    name: str
    tier: int
    industry: str
    region: Region
    short: str  # 2-4 letter code used in its own order numbers
    account: str  # settlement account number
    account_bank: str  # CNAPS code of the bank keeping that account
    core: Company | None = None  # the core whose tree it belongs to (None for cores)
    parent: Company | None = None  # its buyer in the tree
    children: list[Company] = field(default_factory=list)
    products: tuple[Product, ...] = ()
    lifnr: str = ""  # vendor number in its core's SAP (tier 1)
    bukrs: str = ""  # company code (cores)
    core_no: int = -1  # index of the core (cores only)
    uscc_valid: bool = True
    texts: dict[str, str] = field(default_factory=dict)  # render cache of fixed XML fragments

    @property
    def root(self) -> Company:
        """The core enterprise ultimately buying from this company."""
        return self.core if self.core is not None else self


@dataclass(eq=False, slots=True)
class Bank:
    """A partner bank: its CNAPS code stands in ``to_uscc`` of FINANCE events."""

    cnaps: str
    name: str
    uscc: str
    base_bp: int
    region: Region
    account: str


@dataclass(eq=False, slots=True)
class Carrier:
    """A logistics company; its waybills arrive under ``logistics/<uscc>/``."""

    uscc: str
    name: str
    prefix: str
    region: Region

    text: str = ""  # its Carrier and UnifiedSocialCreditIdentifier lines of a waybill Body

    def __post_init__(self) -> None:
        self.text = (f"    <Carrier>{self.name}</Carrier>\n"
                     f"    <UnifiedSocialCreditIdentifier>{self.uscc}</UnifiedSocialCreditIdentifier>\n")


@dataclass(eq=False)
class World:
    """Everything that exists before the first night."""

    cores: list[Company]
    suppliers: list[Company]
    tier1: list[list[Company]]  # per core, clean tier-1 suppliers
    shells: list[list[Company]]  # per core, tier-1 "suppliers" with an invalid USCC
    banks: list[Bank]
    carriers: list[Carrier]
    by_tier: list[list[Company]] = field(default_factory=list)  # all suppliers per tier
    shells_in_use: list[list[Company]] = field(default_factory=list)  # per core, shells created in SAP

    def vendors(self, core: Company) -> list[Company]:
        """Vendor master of a core: its tier-1 suppliers and the shell vendors in use."""
        return self.tier1[core.core_no] + self.shells_in_use[core.core_no]

    def use_shell(self, shell: Company) -> None:
        """Create a shell vendor in its core's SAP (from tonight's vendors.csv on)."""
        used = self.shells_in_use[shell.root.core_no]
        if all(s is not shell for s in used):
            used.append(shell)

    def other_bank(self, rng: random.Random, *not_these: Bank) -> Bank:
        """A bank different from the given ones."""
        if not not_these:
            return self.banks[int(rng.random() * len(self.banks))]
        pool = [b for b in self.banks if all(b is not n for n in not_these)]
        return pool[int(rng.random() * len(pool))]

    def to_json(self) -> dict[str, object]:
        """world.json content: companies with industry and region, carriers, banks."""

        def company(c: Company) -> dict[str, object]:
            return {
                "uscc": c.uscc,
                "name": c.name,
                "tier": c.tier,
                "role": "core" if c.tier == 0 else "supplier",
                "industry": c.industry,
                "region": c.region.province,
                "region_code": c.region.province_code,
                "province_code": c.region.province_code,
                "province": c.region.province,
                "city_code": c.region.city_code,
                "city": c.region.city,
                "district_code": c.region.district_code,
                "core_uscc": c.root.uscc,
                "parent_uscc": c.parent.uscc if c.parent is not None else None,
                "uscc_valid": c.uscc_valid,
            }

        return {
            "companies": [company(c) for c in self.cores + self.suppliers],
            "carriers": [
                {"uscc": k.uscc, "name": k.name, "province_code": k.region.province_code,
                 "province": k.region.province}
                for k in self.carriers
            ],
            "banks": [{"cnaps": b.cnaps, "name": b.name, "uscc": b.uscc} for b in self.banks],
        }

    def write_json(self, path: Path) -> None:
        """Write world.json (UTF-8, stable key order)."""
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


class _Namer:
    """Unique company names ``<city><brand><industry word>有限公司``."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()  # membership only, never iterated

    def name(self, region: Region, industry: str) -> str:
        rng = self._rng
        words = NAME_WORDS[industry]
        for attempt in range(1000):
            first = BRAND_FIRST[int(rng.random() * len(BRAND_FIRST))]
            brand = first + BRAND_SECOND[int(rng.random() * len(BRAND_SECOND))]
            if brand[0] == brand[1]:
                continue
            word = words[int(rng.random() * len(words))]
            suffix = "股份有限公司" if rng.random() < 0.1 else "有限公司"
            extra = "" if attempt < 200 else str(attempt)
            text = f"{region.short}{brand}{extra}{word}{suffix}"
            if text not in self._used:
                self._used.add(text)
                return text
        raise RuntimeError("name space exhausted")  # pragma: no cover


def tier1_per_core(trades_per_night: int) -> int:
    """Tier-1 suppliers per core: the world grows with the volume, within bounds."""
    return max(8, min(150, trades_per_night // 2000))


def build_world(rng: random.Random, tier1_count: int, bank_count: int | None = None) -> World:
    """Build cores, their supplier trees (tiers 1..5), carriers and ``bank_count`` partner banks
    (:func:`simulator.catalog.partner_banks`; companies keep their accounts at them)."""
    bank_specs = partner_banks(bank_count)
    namer = _Namer(rng)
    serial = rng.randrange(1000, 100_000)
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"

    def next_serial() -> int:
        nonlocal serial
        serial += 1
        return serial

    def account(bank_idx: int) -> tuple[str, str]:
        return f"{rng.randrange(10**14, 10**15)}", bank_specs[bank_idx].cnaps

    companies_made = 0

    def new_company(tier: int, industry: str, region: Region, name: str | None = None,
                    valid: bool = True) -> Company:
        nonlocal companies_made
        companies_made += 1
        acct, acct_bank = account(int(rng.random() * len(bank_specs)))
        products = PRODUCTS[industry]
        k = 1 + int(rng.random() * min(3, len(products)))
        start = int(rng.random() * len(products))
        chosen = tuple(products[(start + j) % len(products)] for j in range(k))
        short = "".join(letters[int(rng.random() * len(letters))] for _ in range(3))
        return Company(
            idx=companies_made,
            uscc=make_uscc(region.district_code, next_serial(), valid=valid),
            name=name or namer.name(region, industry),
            tier=tier,
            industry=industry,
            region=region,
            short=short,
            account=acct,
            account_bank=acct_bank,
            products=chosen,
            uscc_valid=valid,
        )

    cores: list[Company] = []
    suppliers: list[Company] = []
    tier1: list[list[Company]] = []
    shells: list[list[Company]] = []
    by_tier: list[list[Company]] = [[] for _ in range(MAX_TIER + 1)]
    for core_no, spec in enumerate(CORES):
        core = new_company(0, spec.industry, _REGION_BY_DISTRICT[spec.district_code], name=spec.name)
        core.bukrs = spec.bukrs
        core.core_no = core_no
        cores.append(core)
        lifnr = 100_000
        firsts: list[Company] = []
        frontier: list[Company] = [core]
        for tier in range(1, MAX_TIER + 1):
            nxt: list[Company] = []
            industries = spec.upstream[tier - 1]
            for buyer in frontier:
                count = tier1_count if tier == 1 else 1 + int(rng.random() * 3)
                for _ in range(count):
                    region = REGIONS[int(rng.random() * len(REGIONS))]
                    c = new_company(tier, industries[int(rng.random() * len(industries))], region)
                    c.core, c.parent = core, buyer
                    if tier == 1:
                        lifnr += 1
                        c.lifnr = f"{lifnr:010d}"
                        firsts.append(c)
                    buyer.children.append(c)
                    suppliers.append(c)
                    by_tier[tier].append(c)
                    nxt.append(c)
            frontier = nxt
        tier1.append(firsts)
        core_shells: list[Company] = []
        for _ in range(3):
            region = REGIONS[int(rng.random() * len(REGIONS))]
            s = new_company(1, spec.industry, region, valid=False)
            s.core, s.parent = core, core
            lifnr += 1
            s.lifnr = f"{lifnr:010d}"
            core_shells.append(s)
            suppliers.append(s)
        shells.append(core_shells)

    banks = []
    for spec_b in bank_specs:
        region = _REGION_BY_DISTRICT.get(spec_b.district_code) or REGIONS[0]
        banks.append(Bank(spec_b.cnaps, spec_b.name, make_uscc(spec_b.district_code, next_serial()),
                          spec_b.base_bp, region, f"{rng.randrange(10**14, 10**15)}"))
    carriers = [
        Carrier(make_uscc(k.district_code, next_serial()), k.name, k.prefix, _REGION_BY_DISTRICT[k.district_code])
        for k in CARRIERS
    ]
    return World(cores, suppliers, tier1, shells, banks, carriers, by_tier, [[] for _ in cores])
