"""Plain records of the documents the simulator writes (money in fen, days as
ordinals, times as :mod:`simulator.timefmt` timestamps)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from simulator.catalog import Product
from simulator.world import Bank, Carrier, Company


@dataclass(slots=True)
class Line:
    """One invoice line (IssuItemInformation)."""

    product: Product
    quantity: int
    unit_price: str
    amount: int
    tax: int


@dataclass(slots=True, eq=False)
class Invoice:
    """A 数电票, blue or red-letter."""

    no: str
    seller: Company
    buyer: Company
    issued: int  # timestamp
    lines: list[Line]
    amount: int  # TotalAmWithoutTax as written
    tax: int  # TotalTaxAm as written
    total: int  # TotalTax-includedAmount as written
    remark: str
    order_no: str = ""
    red_of: str = ""  # on a red-letter invoice: the blue invoice it reverses
    vat_kind: str = "01"
    percent_rate: bool = False
    date_only: bool = False
    drawer: str = ""

    @property
    def quantity(self) -> int:
        """Sum of line quantities."""
        return sum(line.quantity for line in self.lines)

    @property
    def day(self) -> int:
        """Issue day ordinal."""
        return self.issued // 86_400


@dataclass(slots=True, eq=False)
class Waybill:
    """An 电子路单 Body."""

    no: str
    order_no: str
    carrier: Carrier
    consignor: Company
    consignee: Company
    consigned: int
    despatched: int
    received: int | None
    status: str
    goods: str
    quantity: int
    unit: str
    grams: int
    packages: int


@dataclass(slots=True)
class PoItem:
    """An EKPO line."""

    ebeln: str
    ebelp: str
    lifnr: str
    bedat: int
    product: Product
    quantity: int
    net_price: int
    net_value: int


@dataclass(slots=True)
class GoodsReceipt:
    """An MSEG line (BWART 101 receipt or 102 reversal; quantity negative for 102)."""

    mblnr: str
    mjahr: int
    zeile: str
    bwart: str
    ebeln: str
    ebelp: str
    quantity: int
    budat: int
    xblnr: str


@dataclass(slots=True)
class ApItem:
    """A vendor open item (BSIK/BSAK); ``amount`` negative for a credit memo."""

    bukrs: str
    lifnr: str
    gjahr: int
    belnr: str
    buzei: str
    budat: int
    bldat: int
    blart: str
    shkzg: str
    amount: int
    zfbdt: int
    zbd1t: int
    sgtxt: str
    ebeln: str
    augdt: int | None = None
    augbl: str = ""

    @property
    def ref(self) -> str:
        """``BUKRS-GJAHR-BELNR-BUZEI`` as voucher ISSUE events cite it."""
        return f"{self.bukrs}-{self.gjahr}-{self.belnr}-{self.buzei}"

    @property
    def due(self) -> int:
        """Net due date ZFBDT + ZBD1T."""
        return self.zfbdt + self.zbd1t


@dataclass(slots=True, eq=False)
class Trade:
    """One sale and its evidence: what a tier-1 or deeper-tier trade left behind."""

    invoice: Invoice
    waybills: list[Waybill]
    po_items: list[PoItem] = field(default_factory=list)
    receipts: list[GoodsReceipt] = field(default_factory=list)
    ap: ApItem | None = None
    night: int = 0  # index of the night its documents were delivered

    @property
    def seller(self) -> Company:
        """The supplier."""
        return self.invoice.seller

    @property
    def buyer(self) -> Company:
        """The customer."""
        return self.invoice.buyer


@dataclass(slots=True)
class Endorsement:
    """One 背书 of a bill range."""

    day: int
    endorser: Company
    endorsee: Company


@dataclass(slots=True)
class Discount:
    """A 贴现 of a bill range at a bank."""

    day: int
    rate_bp: int
    amount: int
    bank: Bank


@dataclass(slots=True)
class Pledge:
    """A 质押 of a bill range to a bank."""

    day: int
    bank: Bank


@dataclass(slots=True, eq=False)
class BillRange:
    """One CdInf record: a sub-bill range of a bill package."""

    cd_no: str
    start: int
    end: int
    bill_type: str  # AC01 bank acceptance, AC02 commercial acceptance
    issue: int
    due: int
    drawer: Company
    acceptor: Company | Bank
    payee: Company
    transferable: bool
    invoices: list[str]
    endorsements: list[Endorsement] = field(default_factory=list)
    discount: Discount | None = None
    pledge: Pledge | None = None  # Collztn
    status: str = "CS03"  # CdSts
    circulation: str = "TF0301"  # CircSts

    @property
    def amount(self) -> int:
        """Amount of the range in fen (each unit is one fen)."""
        return self.end - self.start + 1

    @property
    def ref(self) -> str:
        """``CdNo:start-end`` as financings cite it."""
        return f"{self.cd_no}:{self.start}-{self.end}"

    @property
    def holder(self) -> Company:
        """Last endorsee, or the payee."""
        return self.endorsements[-1].endorsee if self.endorsements else self.payee


RowEdit = Callable[[tuple[str, ...]], tuple[str, ...]]
"""Turns the fields of a row as rendered into the fields as delivered."""


@dataclass(slots=True, eq=False)
class Financing:
    """A row of platform/financings.csv."""

    id: str
    bank: Bank
    product: str
    applicant: str  # USCC
    debtor: str  # USCC
    asset_ref: str
    refs: list[tuple[str, int]]
    face: int
    financed: int
    rate_bp: int
    value_date: int
    maturity: int
    status: str = "ACTIVE"
    row_night: int = 0  # index of the night its row is delivered
    as_delivered: RowEdit | None = None  # bends the row's fields as delivered (a malformed row)
