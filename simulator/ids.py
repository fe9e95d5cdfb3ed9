"""Identifiers of every document, unique by construction (counters), random-looking
where the real ones are (voucher ids), and reproducible from the seed."""

from __future__ import annotations

import random

from simulator.timefmt import year, ymd

_MASK64 = (1 << 64) - 1
_ODD64 = 0x9E3779B97F4A7C15  # odd, so multiplication mod 2**64 is a bijection


class Ids:
    """Allocates document numbers.  One instance per simulation."""

    def __init__(self, rng: random.Random, n_cores: int) -> None:
        self._invoice = rng.randrange(10**9, 5 * 10**9)
        self._voucher = 0
        self._voucher_key = rng.getrandbits(64)
        self._waybill = rng.randrange(10**5, 10**6)
        self._order = rng.randrange(10**5, 10**6)
        self._cd = rng.randrange(10**6, 10**7)
        self._ebeln = [rng.randrange(10**5, 10**6) for _ in range(n_cores)]
        self._mblnr = [rng.randrange(10**6, 5 * 10**6) for _ in range(n_cores)]
        self._belnr = [rng.randrange(10**6, 5 * 10**6) for _ in range(n_cores)]
        self._event = 0
        self._financing = 0
        self._night = ""

    def start_night(self, day: int) -> None:
        """Reset the per-night sequences (event and financing ids carry the date)."""
        self._night = ymd(day)
        self._event = 0
        self._financing = 0

    def invoice_no(self, day: int, province2: str) -> str:
        """20-digit 数电票 number: yy + province + channel ``0`` + 15-digit serial."""
        self._invoice += 1
        return f"{year(day) % 100:02d}{province2}0{self._invoice:015d}"

    def voucher_id(self) -> str:
        """``V`` + 16 hex chars: a bijective scramble of a counter, so never repeated."""
        self._voucher += 1
        return f"V{((self._voucher * _ODD64) & _MASK64) ^ self._voucher_key:016x}"

    def waybill_no(self, prefix: str, day: int) -> str:
        """Carrier waybill number: carrier prefix + date + serial."""
        self._waybill += 1
        return f"{prefix}{ymd(day)}{self._waybill:08d}"

    def order_no(self, buyer_short: str, day: int) -> str:
        """Order number of a supplier's customer without SAP (deeper tiers)."""
        self._order += 1
        return f"{buyer_short}-PO-{ymd(day)[:6]}-{self._order:07d}"

    def ebeln(self, core: int) -> str:
        """SAP purchase-order number of a core enterprise: ``45`` + core digit + 7 digits,
        so no two cores ever share one (waybills cite it alone)."""
        self._ebeln[core] += 1
        return f"45{core % 10}{self._ebeln[core]:07d}"

    def mblnr(self, core: int) -> str:
        """SAP material document number (50xxxxxxxx)."""
        self._mblnr[core] += 1
        return f"50{self._mblnr[core]:08d}"

    def belnr(self, core: int) -> str:
        """SAP FI document number of a vendor invoice (51xxxxxxxx)."""
        self._belnr[core] += 1
        return f"51{self._belnr[core]:08d}"

    def cd_no(self, first_digit: str, bank_cnaps: str, day: int) -> str:
        """30-digit bill number: type digit + bank code + issue date + 9-digit serial."""
        self._cd += 1
        return f"{first_digit}{bank_cnaps}{ymd(day)}{self._cd:09d}"

    def event_id(self) -> str:
        """Platform event id, unique across nights."""
        self._event += 1
        return f"EV{self._night}{self._event:08d}"

    def financing_id(self) -> str:
        """Financing id, unique across nights."""
        self._financing += 1
        return f"F{self._night}{self._financing:07d}"
